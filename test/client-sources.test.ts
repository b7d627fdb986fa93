/**
 * The client's pure parts: the audio sources (pattern, tone, WAV, silence) addressed by byte
 * index, sample encoding, the loopback check, durations, recording paths, server arguments,
 * header sizes and round-trip merging. Expected values are written out from their definitions.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseServer } from "../host/cli/session.js";
import { UsageError } from "../host/cli/usage.js";
import { describeStreamFormat, parseDuration } from "../host/client/describe.js";
import { describeVerdict, LoopbackCheck } from "../host/client/loopback.js";
import { maxAudioHeaderBytes, pairs, recordPath } from "../host/client/session.js";
import {
  createSource,
  encodeSample,
  patternSource,
  silenceSource,
  sourceProblem,
  toneSource,
  wavSource,
} from "../host/client/sources.js";
import { RttTracker } from "../host/client/stats.js";
import { hostCodecs } from "../host/wire/codecs.js";
import type { Format, SampleType } from "../shared/format.js";

const MONO16: Format = { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" };

function fill(
  src: { fill(o: Uint8Array, off: number, n: number, k: number): void },
  k: number,
  n: number,
): number[] {
  const out = new Uint8Array(n + 3);
  src.fill(out, 3, n, k);
  return [...out.subarray(3)];
}

describe("sources", () => {
  it("pattern: byte k of stream s is (k*31 + s*7) & 0xff, from any index", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 600 }),
        (k, s, n) => {
          const want: number[] = [];
          for (let i = 0; i < n; i++) want.push(Number((BigInt(k + i) * 31n + BigInt(s * 7)) & 0xffn));
          expect(fill(patternSource(s), k, n)).toEqual(want);
        },
      ),
    );
  });

  it("tone: I16 samples are round(a * sin(2 pi f n / rate) * 32767), on every channel", () => {
    const stereo: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 0, sampleType: "I16" };
    const t = toneSource(stereo, 1000, 0.25);
    const bytes = new Uint8Array(4 * 100);
    t.fill(bytes, 0, bytes.length, 4 * 1000);
    const v = new DataView(bytes.buffer);
    for (let i = 0; i < 100; i++) {
      const n = 1000 + i;
      const want = Math.round(0.25 * Math.sin((2 * Math.PI * 1000 * n) / 48000) * 32767) + 0; // no -0
      expect(v.getInt16(4 * i, true)).toBe(want);
      expect(v.getInt16(4 * i + 2, true)).toBe(want);
    }
  });

  it("any source: a fill from any byte index is the same bytes as one long fill (partial frames too)", () => {
    const formats: Format[] = [
      { sampleRate: 44100, channelCount: 3, bufferSize: 0, sampleType: "I24" },
      { sampleRate: 8000, channelCount: 2, bufferSize: 0, sampleType: "U16" },
      { sampleRate: 16000, channelCount: 1, bufferSize: 0, sampleType: "IEEF64" },
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...formats),
        fc.constantFrom("tone", "pattern", "silence", "wav"),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 500 }),
        (f, kind, k, n) => {
          const data = new Uint8Array(2000).map((_, i) => (i * 13) & 0xff);
          const src =
            kind === "wav"
              ? wavSource("w", data, f.sampleType)
              : createSource(kind === "tone" ? { kind, hz: 997, amplitude: 0.7 } : ({ kind } as never), 1, f);
          const whole = fill(src, 0, k + n);
          expect(fill(src, k, n)).toEqual(whole.slice(k));
        },
      ),
    );
  });

  it("wav: the file's bytes, then the type's silence", () => {
    const data = new Uint8Array([1, 2, 3, 4]);
    expect(fill(wavSource("x", data, "I16"), 2, 4)).toEqual([3, 4, 0, 0]);
    expect(fill(wavSource("x", data, "U8"), 3, 3)).toEqual([4, 0x80, 0x80]);
    expect(fill(wavSource("x", data, "U16"), 4, 4)).toEqual([0, 0x80, 0, 0x80]);
  });

  it("silence: 0, or the mid value of unsigned types, from any index", () => {
    expect(fill(silenceSource({ sampleType: "U16" }), 1, 3)).toEqual([0x80, 0, 0x80]);
    expect(fill(silenceSource({ sampleType: "I32" }), 1, 3)).toEqual([0, 0, 0]);
  });

  it("sourceProblem: a WAV must have the stream's rate, channels and type", () => {
    const wav = { kind: "wav", path: "a.wav", data: new Uint8Array(0) } as const;
    expect(
      sourceProblem({ ...wav, format: { sampleRate: 16000, channelCount: 1, sampleType: "I16" } }, MONO16),
    ).toBeUndefined();
    expect(
      sourceProblem({ ...wav, format: { sampleRate: 16000, channelCount: 2, sampleType: "I16" } }, MONO16),
    ).toBe("the file is I16 16000 Hz x2");
    expect(sourceProblem({ kind: "tone", hz: 1, amplitude: 1 }, MONO16)).toBeUndefined();
  });
});

describe("encodeSample", () => {
  const cases: [SampleType, number, number[]][] = [
    ["U8", 0, [0x80]],
    ["U8", 1, [0xff]],
    ["U8", -1, [0x01]],
    ["I8", -1, [0x81]],
    ["I16", 1, [0xff, 0x7f]],
    ["I16", -1, [0x01, 0x80]],
    ["U16", 0, [0x00, 0x80]],
    ["I24", -1, [0x01, 0x00, 0x80]],
    ["U24", 0.5, [0x00, 0x00, 0xc0]],
    ["I32", 1, [0xff, 0xff, 0xff, 0x7f]],
    ["U32", 0, [0, 0, 0, 0x80]],
    ["I64", 1, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]],
    ["U64", 0, [0, 0, 0, 0, 0, 0, 0, 0x80]],
    ["IEEF32", 0.5, [0, 0, 0, 0x3f]],
    ["IEEF64", -2, [0, 0, 0, 0, 0, 0, 0xf0, 0xbf]],
  ];
  it.each(cases)("%s %d", (t, x, bytes) => {
    const b = new Uint8Array(bytes.length);
    encodeSample(new DataView(b.buffer), 0, t, x);
    expect([...b]).toEqual(bytes);
  });
});

describe("loopback check", () => {
  it("counts compared, mismatched and not-yet-sent bytes; an echo is a full match", () => {
    const c = new LoopbackCheck(0, 0, patternSource(0));
    const echo = new Uint8Array(8).map((_, i) => ((100 + i) * 31) & 0xff);
    expect(c.check(100, echo, 200)).toBe(true);
    const bad = echo.slice();
    bad[3] = bad[3]! ^ 1;
    expect(c.check(100, bad, 200)).toBe(false);
    expect(
      c.check(
        196,
        new Uint8Array(8).map((_, i) => ((196 + i) * 31) & 0xff),
        200,
      ),
    ).toBe(false);
    const v = c.verdict();
    expect([v.compared, v.mismatched, v.notSent, v.ok]).toEqual([20, 1, 4, false]);
    expect(v.firstMismatch).toEqual({ byte: 103, got: bad[3], expected: echo[3] });
    expect(describeVerdict(v)).toBe(
      `in 0 <- out 0: 1 of 20 bytes compared differ from what was sent (first at byte 103: got 0x${bad[3]!.toString(16).padStart(2, "0")}, sent 0x${echo[3]!.toString(16).padStart(2, "0")}); 4 bytes came back before they were sent`,
    );
  });

  it("nothing compared is a failure", () => {
    const v = new LoopbackCheck(1, 1, patternSource(1)).verdict();
    expect(v.ok).toBe(false);
    expect(describeVerdict(v)).toBe("in 1 <- out 1: nothing came back (0 bytes compared)");
  });

  it("pairs: input i with output i of the same rate, channels and type", () => {
    const other: Format = { ...MONO16, sampleType: "I24" };
    expect(
      pairs({ inputs: [MONO16, MONO16, other], outputs: [{ ...MONO16, bufferSize: 32 }, other] }),
    ).toEqual([0]);
  });
});

describe("arguments and words", () => {
  it.each([
    ["2s", 2000],
    ["500ms", 500],
    ["2", 2000],
    ["1.5s", 1500],
    ["2m", 120000],
    [" 3 s ", 3000],
  ])("duration %j is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "s", "-1s", "2h", "1e3", "two", "1,5s"])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it("server arguments", () => {
    expect(parseServer("127.0.0.2", 6910)).toEqual({ host: "127.0.0.2", port: 6910 });
    expect(parseServer("board.local:7000", 6910)).toEqual({ host: "board.local", port: 7000 });
    for (const bad of ["", ":6910", "h:0", "h:65536", "h:12:3", "a b"]) {
      expect(() => parseServer(bad, 6910)).toThrow(UsageError);
    }
  });

  it("recording paths: input 0 is the path, input i is name.in<i>.wav", () => {
    expect(recordPath("take.wav", 0)).toBe("take.wav");
    expect(recordPath("dir/take.WAV", 2)).toBe("dir/take.in2.WAV");
    expect(recordPath("take", 1)).toBe("take.in1");
  });

  it("formats in words", () => {
    expect(describeStreamFormat(MONO16)).toBe("I16 16000 Hz x1, 256-frame packets");
    expect(describeStreamFormat({ ...MONO16, bufferSize: 0 })).toBe("I16 16000 Hz x1, no packet size");
  });

  it("longest audio headers: postcard 17 bytes, msgpack (client side) 37", () => {
    expect(maxAudioHeaderBytes(hostCodecs.postcard)).toBe(17);
    // fixmap 1 + "Connected" 10 + fixmap 1 + "Audio" 6 + fixarray 1 + stream u32 5 + fixarray 1
    // + byte_idx u64 9 + n_bytes u16 3 (at most 1472): 37. The firmware's bound, 39, allows a u32 n_bytes.
    expect(maxAudioHeaderBytes(hostCodecs.msgpack)).toBe(37);
  });

  it("RttTracker.merge keeps count, min, mean and max", () => {
    const a = new RttTracker();
    const b = new RttTracker();
    for (const v of [1, 3]) a.add(v);
    for (const v of [0.5, 10, 4.5]) b.add(v);
    a.merge(b);
    expect([a.count, a.minMs, a.maxMs, a.meanMs, a.lastMs]).toEqual([5, 0.5, 10, 19 / 5, 4.5]);
  });
});
