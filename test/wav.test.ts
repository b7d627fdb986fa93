import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  parseWav,
  readWav,
  WavError,
  type WavFormat,
  WavWriter,
  wavHeader,
  wavSink,
} from "../host/media/wav.js";
import { StreamReceiver } from "../shared/audio/receiver.js";
import type { SampleType } from "../shared/format.js";
import { mulberry32, randomInt } from "./support/prng.js";

const dir = mkdtempSync(join(tmpdir(), "syfala-wav-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function tmpFile(): string {
  fileNo++;
  return join(dir, `f${fileNo}.wav`);
}

/** Bytes from a fixture written as hex pairs with comments ("# ..." to the end of a line). */
function hex(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const code = line.replace(/#.*/, "").trim();
    for (const tok of code.split(/\s+/)) {
      if (tok === "") continue;
      if (/^[A-Za-z ]{4}$/.test(tok) || tok.startsWith('"')) throw new Error("bad token " + tok);
      out.push(Number.parseInt(tok, 16));
    }
  }
  return out;
}
const RIFF = "52 49 46 46";
const WAVE = "57 41 56 45";
const FMT = "66 6d 74 20";
const FACT = "66 61 63 74";
const DATA = "64 61 74 61";
const GUID_TAIL = "00 00 00 00 10 00 80 00 00 aa 00 38 9b 71";

// Sample sizes written out here, not taken from the code under test.
const SIZE: Partial<Record<SampleType, number>> = { U8: 1, I16: 2, I24: 3, I32: 4, IEEF32: 4, IEEF64: 8 };
const WAV_TYPES = Object.keys(SIZE) as SampleType[];

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

describe("WAV headers (hand-written bytes)", () => {
  it("I16 stereo 48 kHz: plain PCM header, 44 bytes", () => {
    const expected = hex(`
      ${RIFF} 24 00 00 00 ${WAVE}    # RIFF size 36 = 44 - 8
      ${FMT} 10 00 00 00            # fmt body 16
      01 00 02 00                   # PCM, 2 channels
      80 bb 00 00 00 ee 02 00       # 48000 Hz, 192000 B/s
      04 00 10 00                   # block align 4, 16 bits
      ${DATA} 00 00 00 00`);
    expect([...wavHeader({ sampleRate: 48000, channelCount: 2, sampleType: "I16" }, 0)]).toEqual(expected);
  });

  it("IEEF32 mono 44.1 kHz, 2 frames: plain float header with cbSize 0 and a fact chunk", () => {
    const expected = hex(`
      ${RIFF} 3a 00 00 00 ${WAVE}    # 58 - 8 + 8 data bytes = 58
      ${FMT} 12 00 00 00            # fmt body 18
      03 00 01 00                   # IEEE float, 1 channel
      44 ac 00 00 10 b1 02 00       # 44100 Hz, 176400 B/s
      04 00 20 00 00 00             # block align 4, 32 bits, cbSize 0
      ${FACT} 04 00 00 00 02 00 00 00   # 2 frames
      ${DATA} 08 00 00 00`);
    expect([...wavHeader({ sampleRate: 44100, channelCount: 1, sampleType: "IEEF32" }, 8)]).toEqual(expected);
  });

  it("I24 stereo: extensible (more than 16 bits), stereo speaker mask", () => {
    const expected = hex(`
      ${RIFF} 3c 00 00 00 ${WAVE}    # 68 - 8 = 60
      ${FMT} 28 00 00 00            # fmt body 40
      fe ff 02 00                   # WAVE_FORMAT_EXTENSIBLE, 2 channels
      40 1f 00 00 80 bb 00 00       # 8000 Hz, 48000 B/s
      06 00 18 00                   # block align 6, 24 bits
      16 00 18 00                   # cbSize 22, 24 valid bits
      03 00 00 00                   # front left | front right
      01 00 ${GUID_TAIL}            # KSDATAFORMAT_SUBTYPE_PCM
      ${DATA} 00 00 00 00`);
    expect([...wavHeader({ sampleRate: 8000, channelCount: 2, sampleType: "I24" }, 0)]).toEqual(expected);
  });

  it("IEEF64 x4 at 96 kHz: extensible (more than 2 channels), no speaker mask, fact chunk", () => {
    const expected = hex(`
      ${RIFF} 48 00 00 00 ${WAVE}    # 80 - 8 = 72
      ${FMT} 28 00 00 00
      fe ff 04 00                   # extensible, 4 channels
      00 77 01 00 00 e0 2e 00       # 96000 Hz, 3072000 B/s
      20 00 40 00                   # block align 32, 64 bits
      16 00 40 00 00 00 00 00       # cbSize 22, 64 valid bits, mask 0
      03 00 ${GUID_TAIL}            # KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
      ${FACT} 04 00 00 00 00 00 00 00
      ${DATA} 00 00 00 00`);
    expect([...wavHeader({ sampleRate: 96000, channelCount: 4, sampleType: "IEEF64" }, 0)]).toEqual(expected);
  });

  it("I16 with 3 channels is extensible too; U8 mono stays plain", () => {
    const h3 = wavHeader({ sampleRate: 8000, channelCount: 3, sampleType: "I16" }, 0);
    expect(h3.length).toBe(68);
    expect([h3[20], h3[21]]).toEqual([0xfe, 0xff]);
    const h1 = wavHeader({ sampleRate: 8000, channelCount: 1, sampleType: "U8" }, 0);
    expect(h1.length).toBe(44);
    expect([h1[20], h1[21], h1[34]]).toEqual([1, 0, 8]);
  });

  it("rejects the types a WAV cannot hold, naming them, before creating a file", () => {
    for (const t of ["U16", "U24", "U32", "U64", "I8", "I64"] as SampleType[]) {
      const path = tmpFile();
      expect(() => WavWriter.open(path, { sampleRate: 8000, channelCount: 1, sampleType: t })).toThrow(
        new RegExp(`sample type ${t} cannot be stored in a WAV file`),
      );
      expect(() => statSync(path)).toThrow();
    }
  });

  it("rejects formats the header fields cannot hold", () => {
    const f =
      (sampleRate: number, channelCount: number, sampleType: SampleType = "I16") =>
      () =>
        wavHeader({ sampleRate, channelCount, sampleType }, 0);
    expect(f(8000, 65536)).toThrow(/channel count 65536/);
    expect(f(8000, 8192, "IEEF64")).toThrow(/frame of 65536 bytes/);
    expect(f(0.2, 1)).toThrow(/sample rate 0.2 Hz/);
    expect(f(5e9, 1)).toThrow(/sample rate/);
    expect(f(4e9, 2)).toThrow(/byte rate/);
  });
});

/** The bytes `[from, to)` of a test pattern: byte k of the stream is (k * 7 + 3) & 0xff. */
function pattern(from: number, to: number): Uint8Array {
  const b = new Uint8Array(to - from);
  for (let k = from; k < to; k++) b[k - from] = (k * 7 + 3) & 0xff;
  return b;
}

/** Silence by our own rule: 0, except U8 whose silence is 0x80. */
function silenceOf(t: SampleType, n: number): number[] {
  return new Array<number>(n).fill(t === "U8" ? 0x80 : 0);
}

describe("WavWriter", () => {
  it.each(WAV_TYPES)("%s: round trip with a gap written as silence", (t) => {
    const size = SIZE[t] as number;
    const format: WavFormat = { sampleRate: 16000, channelCount: 2, sampleType: t };
    const path = tmpFile();
    const w = WavWriter.open(path, format);
    const fb = 2 * size;
    w.write(0, pattern(0, 3 * fb)); // frames 0-2
    w.write(5 * fb, pattern(5 * fb, 7 * fb)); // frames 3-4 lost
    w.writeSilence(7 * fb, fb); // frame 7 silence
    w.write(8 * fb, pattern(8 * fb, 9 * fb));
    w.close();
    const r = readWav(path);
    expect(r.format).toEqual(format);
    const expected = [
      ...pattern(0, 3 * fb),
      ...silenceOf(t, 2 * fb),
      ...pattern(5 * fb, 7 * fb),
      ...silenceOf(t, fb),
      ...pattern(8 * fb, 9 * fb),
    ];
    expect([...r.data]).toEqual(expected);
    // Stereo headers: plain PCM 44 bytes, plain float + fact 58, extensible PCM 68.
    const headerBytes = { U8: 44, I16: 44, I24: 68, I32: 68, IEEF32: 58, IEEF64: 58 }[t as string] as number;
    expect(statSync(path).size).toBe(headerBytes + 9 * fb);
  });

  it("U8 mono with an odd data size: pad byte on disk, counted in the RIFF size", () => {
    const path = tmpFile();
    const w = WavWriter.open(path, { sampleRate: 8000, channelCount: 1, sampleType: "U8" });
    w.write(0, new Uint8Array([1, 2, 3]));
    w.close();
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(44 + 3 + 1);
    expect([...bytes.subarray(4, 8)]).toEqual(le32(40)); // 44 - 8 + 3 + 1
    expect([...bytes.subarray(40, 44)]).toEqual(le32(3));
    expect([...bytes.subarray(44)]).toEqual([1, 2, 3, 0]);
  });

  it("completes a partial last frame with silence on close", () => {
    const path = tmpFile();
    const w = WavWriter.open(path, { sampleRate: 8000, channelCount: 3, sampleType: "I16" });
    w.write(0, pattern(0, 8)); // one frame (6 bytes) and one sample of the next
    w.close();
    expect([...readWav(path).data]).toEqual([...pattern(0, 8), 0, 0, 0, 0]);
  });

  it("refuses writes out of order and after close; close is idempotent", () => {
    const path = tmpFile();
    const w = WavWriter.open(path, { sampleRate: 8000, channelCount: 1, sampleType: "I16" });
    w.write(0, pattern(0, 4));
    expect(() => w.write(2, pattern(2, 4))).toThrow(/writes must be in order/);
    w.close();
    w.close();
    expect(w.closed).toBe(true);
    expect(() => w.write(4, pattern(4, 6))).toThrow(/closed/);
  });

  it("rewrites the header every interval, so the file on disk is valid before close", () => {
    const path = tmpFile();
    // 10 frames of 4 bytes per interval; a large buffer, so only checkpoints reach the disk.
    const w = WavWriter.open(
      path,
      { sampleRate: 1000, channelCount: 2, sampleType: "I16" },
      { headerIntervalBytes: 40, bufferBytes: 4096 },
    );
    w.write(0, pattern(0, 36));
    expect(readWav(path).data.length).toBe(0); // not yet an interval
    w.write(36, pattern(36, 42)); // 42 bytes: 10 whole frames on disk and described
    expect([...readWav(path).data]).toEqual([...pattern(0, 40)]);
    w.write(42, pattern(42, 60));
    expect(readWav(path).data.length).toBe(40);
    w.close();
    expect([...readWav(path).data]).toEqual([...pattern(0, 60)]);
  });

  it("default interval is one second of audio", () => {
    const w = WavWriter.open(tmpFile(), { sampleRate: 8000, channelCount: 2, sampleType: "IEEF32" });
    expect(w.headerIntervalBytes).toBe(8000 * 8);
    w.close();
  });

  it("stops at maxDataBytes: the rest is counted as dropped, the file stays valid", () => {
    const path = tmpFile();
    const w = WavWriter.open(
      path,
      { sampleRate: 8000, channelCount: 1, sampleType: "I16" },
      { maxDataBytes: 11 }, // 5 whole frames
    );
    w.write(0, pattern(0, 8));
    w.write(8, pattern(8, 14));
    expect(w.full).toBe(true);
    expect(w.droppedBytes).toBe(4);
    w.write(14, pattern(14, 16));
    w.writeSilence(20, 2); // gap of 4 then 2: all dropped, counted once
    expect(w.droppedBytes).toBe(4 + 2 + 4 + 2);
    w.close();
    expect([...readWav(path).data]).toEqual([...pattern(0, 10)]);
  });

  it("records a StreamReceiver's output through wavSink: lost samples are silence, aligned", () => {
    const path = tmpFile();
    const format = { sampleRate: 8000, channelCount: 1, bufferSize: 0, sampleType: "I24" as const };
    const w = WavWriter.open(path, format);
    const rx = new StreamReceiver(format, wavSink(w));
    // BEHAVIOUR.md's worked example: bytes 0-3, then bytes 10-17.
    rx.receive({ hi: 0, lo: 0 }, pattern(0, 4));
    rx.receive({ hi: 0, lo: 10 }, pattern(10, 18));
    w.close();
    expect([...readWav(path).data]).toEqual([...pattern(0, 3), ...new Array(9).fill(0), ...pattern(12, 18)]);
  });

  it("property: after every operation the file parses, holds a prefix of the stream, lagging less than one interval", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("data" as const), gap: fc.nat(7), n: fc.integer({ min: 0, max: 40 }) }),
      fc.record({
        kind: fc.constant("silence" as const),
        gap: fc.nat(7),
        n: fc.integer({ min: 0, max: 40 }),
      }),
      fc.record({ kind: fc.constant("flush" as const), gap: fc.constant(0), n: fc.constant(0) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<SampleType>("U8", "I16", "I24"),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 16, max: 64 }),
        fc.array(op, { maxLength: 15 }),
        (t, ch, interval, bufferBytes, ops) => {
          const size = SIZE[t] as number;
          const path = tmpFile();
          const w = WavWriter.open(
            path,
            { sampleRate: 1000, channelCount: ch, sampleType: t },
            { headerIntervalBytes: interval, bufferBytes },
          );
          const fb = ch * size;
          const expected: number[] = [];
          const check = (closed: boolean): void => {
            const bytes = readFileSync(path);
            const r = parseWav(bytes);
            const n = r.data.length;
            expect([...r.data]).toEqual(expected.slice(0, n));
            expect(n % fb).toBe(0);
            const lag = Math.max(fb, Math.floor(interval / fb) * fb);
            if (closed) expect(n).toBe(Math.ceil(expected.length / fb) * fb);
            else expect(expected.length - n).toBeLessThan(lag + fb);
            expect(r.data.byteOffset - bytes.byteOffset + n).toBeLessThanOrEqual(bytes.length);
          };
          for (const o of ops) {
            // Gaps and sizes in whole samples, as a receiver delivers them.
            const at = expected.length + o.gap * size;
            const len = o.n * size;
            if (o.kind === "flush") w.flush();
            else {
              expected.push(...silenceOf(t, at - expected.length));
              if (o.kind === "data") {
                w.write(at, pattern(at, at + len));
                expected.push(...pattern(at, at + len));
              } else {
                w.writeSilence(at, len);
                expected.push(...silenceOf(t, len));
              }
            }
            check(false);
          }
          w.close();
          expected.push(...silenceOf(t, (fb - (expected.length % fb)) % fb));
          check(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("parseWav on malformed input", () => {
  const good = (): Uint8Array => {
    const h = wavHeader({ sampleRate: 8000, channelCount: 1, sampleType: "I16" }, 4);
    const b = new Uint8Array(h.length + 4);
    b.set(h);
    b.set([1, 2, 3, 4], h.length);
    return b;
  };
  const set32 = (b: Uint8Array, at: number, v: number) => b.set(le32(v), at);
  const bad = (b: Uint8Array, message: RegExp) => {
    expect(() => parseWav(b)).toThrow(WavError);
    expect(() => parseWav(b)).toThrow(message);
  };

  it("accepts the unmodified file", () => {
    expect([...parseWav(good()).data]).toEqual([1, 2, 3, 4]);
  });

  it("truncated file or chunk", () => {
    bad(good().subarray(0, 10), /truncated WAV file: 10 bytes/);
    bad(good().subarray(0, 46), /truncated "data" chunk at offset 36: 4 bytes declared, 2 present/);
    const huge = good();
    set32(huge, 40, 0xffffffff); // data size far beyond the file: no allocation, an error
    bad(huge, /truncated "data" chunk.*4294967295 bytes declared/);
    const fmtHuge = good();
    set32(fmtHuge, 16, 0xfffffff0);
    bad(fmtHuge, /truncated "fmt " chunk at offset 12/);
  });

  it("not RIFF/WAVE, RIFX, RF64", () => {
    const b = good();
    b.set([0x52, 0x49, 0x46, 0x58]);
    bad(b, /RIFX files are not supported/);
    b.set([0x52, 0x46, 0x36, 0x34]);
    bad(b, /RF64/);
    b.set([0x4f, 0x67, 0x67, 0x53]);
    bad(b, /no RIFF header/);
    const c = good();
    c.set([0x41, 0x56, 0x49, 0x20], 8);
    bad(c, /RIFF form is "AVI "/);
  });

  it("unknown format tag, unsupported bits, bad block align, zero channels", () => {
    const tag = good();
    tag.set([0x02, 0x00], 20); // MS ADPCM
    bad(tag, /unsupported WAV format tag 0x0002/);
    const bits = good();
    bits.set([12, 0], 34);
    bad(bits, /unsupported 12 bits per sample for PCM/);
    const align = good();
    align.set([3, 0], 32);
    bad(align, /block align 3 is not 1 channels x 2 bytes/);
    const ch = good();
    ch.set([0, 0], 22);
    bad(ch, /0 channels/);
  });

  it("missing chunks, repeated fmt, short fmt", () => {
    const noData = good();
    noData.set([0x6a, 0x75, 0x6e, 0x6b], 36); // "junk": skipped, so no data chunk
    bad(noData, /no "data" chunk/);
    const noFmt = good();
    noFmt.set([0x6a, 0x75, 0x6e, 0x6b], 12);
    bad(noFmt, /no "fmt " chunk/);
    const twice = new Uint8Array(good().length + 24);
    twice.set(good().subarray(0, 36));
    twice.set(good().subarray(12, 36), 36);
    twice.set(good().subarray(36), 60);
    set32(twice, 4, twice.length - 8);
    bad(twice, /second "fmt " chunk at offset 36/);
    const short = good();
    set32(short, 16, 14);
    bad(short, /"fmt " chunk of 14 bytes/);
  });

  it("extensible with an unknown sub-format GUID", () => {
    const b = wavHeader({ sampleRate: 8000, channelCount: 2, sampleType: "I24" }, 0);
    b[47] = 0x99;
    bad(b, /unknown sub-format GUID/);
  });

  it("skips unknown chunks (odd sizes padded), ignores a partial last frame and bytes after RIFF", () => {
    const parts = hex(`
      ${RIFF} 00 00 00 00 ${WAVE}
      ${FMT} 10 00 00 00 01 00 02 00 40 1f 00 00 00 7d 00 00 04 00 10 00   # I16 x2, 8000 Hz
      4c 49 53 54 03 00 00 00 61 62 63 00                                 # "LIST" of 3 bytes + pad
      ${DATA} 06 00 00 00 01 02 03 04 05 06                               # 1.5 frames
      ee ee`);
    const b = new Uint8Array(parts);
    set32(b, 4, b.length - 8 - 2);
    const r = parseWav(b);
    expect(r.format).toEqual({ sampleRate: 8000, channelCount: 2, sampleType: "I16" });
    expect([...r.data]).toEqual([1, 2, 3, 4]);
  });

  it("fuzz: mutated and truncated files give a result within the file or a WavError", () => {
    const rng = mulberry32(0x5eed);
    const bases = [
      good(),
      wavHeader({ sampleRate: 48000, channelCount: 6, sampleType: "IEEF32" }, 0),
      wavHeader({ sampleRate: 44100, channelCount: 2, sampleType: "I24" }, 0),
    ];
    let ok = 0;
    for (let i = 0; i < 5000; i++) {
      const base = bases[i % bases.length] as Uint8Array;
      const b = base.slice(0, randomInt(rng, base.length + 1));
      const flips = randomInt(rng, 4);
      for (let k = 0; k < flips && b.length > 0; k++) b[randomInt(rng, b.length)] = randomInt(rng, 256);
      try {
        const r = parseWav(b);
        ok++;
        expect(r.data.byteOffset + r.data.length).toBeLessThanOrEqual(b.byteOffset + b.length);
      } catch (e) {
        expect(e).toBeInstanceOf(WavError);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});

/* A child process that records until it is signalled: it writes I16 x3 samples of the pattern
   (sample n = n * 7 & 0x7fff) in chunks of 37 samples (so a signal may land mid-frame), says
   "ready" after 2000 samples, and on SIGINT/SIGTERM closes the file synchronously and prints the
   number of samples it wrote. */
const CHILD = `
import { writeSync } from "node:fs";
import { WavWriter } from ${JSON.stringify(pathToFileURL(resolve("host/media/wav.ts")).href)};
const path = process.argv[2];
const w = WavWriter.open(path, { sampleRate: 8000, channelCount: 3, sampleType: "I16" }, { headerIntervalBytes: 600, bufferBytes: 256 });
let samples = 0;
let ready = false;
function finish() {
  w.closeSync();
  writeSync(1, "closed " + samples + "\\n");
  process.exit(0);
}
process.on("SIGINT", finish);
process.on("SIGTERM", finish);
const chunk = new Uint8Array(37 * 2);
setInterval(() => {
  for (let i = 0; i < 37; i++) {
    const v = ((samples + i) * 7) & 0x7fff;
    chunk[2 * i] = v & 0xff;
    chunk[2 * i + 1] = v >> 8;
  }
  w.write(samples * 2, chunk);
  samples += 37;
  if (!ready && samples >= 2000) {
    ready = true;
    writeSync(1, "ready\\n");
  }
}, 1);
`;

function patternSample(n: number): number {
  return (n * 7) & 0x7fff;
}

interface ChildRun {
  child: ChildProcess;
  stdout: () => string;
  exited: Promise<number | null>;
}

function startRecorder(path: string): { run: ChildRun; ready: Promise<void> } {
  const script = join(dir, `child${fileNo}.ts`);
  writeFileSync(script, CHILD);
  const child = spawn(process.execPath, ["--import", "tsx", script, path], {
    cwd: resolve("."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let onReady: () => void = () => {};
  const ready = new Promise<void>((res) => {
    onReady = res;
  });
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.includes("ready")) onReady();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((res) => {
    child.on("exit", (code) => {
      if (!out.includes("ready")) onReady();
      if (err !== "") process.stderr.write(err);
      res(code);
    });
  });
  return { run: { child, stdout: () => out, exited }, ready };
}

describe("WavWriter interrupted in a child process", () => {
  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s: closeSync in the handler leaves a complete file with every sample written",
    async (signal) => {
      const path = tmpFile();
      const { run, ready } = startRecorder(path);
      await ready;
      expect(run.stdout()).toContain("ready");
      run.child.kill(signal);
      expect(await run.exited).toBe(0);
      const m = /closed (\d+)/.exec(run.stdout());
      expect(m).not.toBeNull();
      const samples = Number(m?.[1]);
      expect(samples).toBeGreaterThanOrEqual(2000);
      const bytes = readFileSync(path);
      const r = parseWav(bytes);
      expect(r.format).toEqual({ sampleRate: 8000, channelCount: 3, sampleType: "I16" });
      // Header (extensible for 3 channels: 68 bytes): RIFF size and data size match the file exactly.
      expect(r.data.byteOffset - bytes.byteOffset).toBe(68);
      expect(bytes.readUInt32LE(4)).toBe(bytes.length - 8);
      expect(bytes.readUInt32LE(64)).toBe(bytes.length - 68);
      const frames = Math.ceil(samples / 3);
      expect(r.data.length).toBe(frames * 6);
      const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.length);
      for (let n = 0; n < frames * 3; n++) {
        expect(view.getUint16(2 * n, true)).toBe(n < samples ? patternSample(n) : 0);
      }
    },
  );

  it("SIGKILL: no handler runs, yet the file parses and holds a prefix of what was written", async () => {
    const path = tmpFile();
    const { run, ready } = startRecorder(path);
    await ready;
    run.child.kill("SIGKILL");
    await run.exited;
    const bytes = readFileSync(path);
    const r = parseWav(bytes);
    expect(r.data.length).toBeGreaterThan(0);
    expect(r.data.length % 6).toBe(0);
    expect(r.data.byteOffset - bytes.byteOffset + r.data.length).toBeLessThanOrEqual(bytes.length);
    const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.length);
    for (let n = 0; n < r.data.length / 2; n++) expect(view.getUint16(2 * n, true)).toBe(patternSample(n));
  });
});
