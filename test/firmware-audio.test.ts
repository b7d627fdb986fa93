import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSource, encodeSample, type Source } from "../firmware/audio/source.js";
import type { InputConfig } from "../firmware/config.js";
import type { SampleType } from "../shared/format.js";

const TYPES: SampleType[] = [
  "U8",
  "U16",
  "U24",
  "U32",
  "U64",
  "I8",
  "I16",
  "I24",
  "I32",
  "I64",
  "IEEF32",
  "IEEF64",
];
const SIZE: Record<SampleType, number> = {
  U8: 1,
  U16: 2,
  U24: 3,
  U32: 4,
  U64: 8,
  I8: 1,
  I16: 2,
  I24: 3,
  I32: 4,
  I64: 8,
  IEEF32: 4,
  IEEF64: 8,
};

function input(over: Partial<InputConfig>): InputConfig {
  return {
    sampleRate: 16000,
    channelCount: 1,
    bufferSize: 256,
    sampleType: "I16",
    source: "tone",
    toneHz: 440,
    amplitude: 0.5,
    ...over,
  };
}

/**
 * `n` bytes of a source from `streamByte`, read into the middle of a larger buffer in requests of
 * at most `maxBytes` (what the source was made for).
 */
function read(src: Source, streamByte: number, n: number, maxBytes: number): number[] {
  const out = new Uint8Array(n + 10).fill(0xee);
  for (let o = 0; o < n; o += maxBytes) src.fill(out, 5 + o, Math.min(maxBytes, n - o), streamByte + o);
  expect(Array.from(out.subarray(0, 5))).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
  expect(Array.from(out.subarray(n + 5))).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
  return Array.from(out.subarray(5, n + 5));
}

/** A sample's value decoded independently: integers as exact BigInt (unsigned made signed), floats as they are. */
function decode(bytes: Uint8Array, offset: number, t: SampleType): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset, SIZE[t]);
  switch (t) {
    case "U8":
      return v.getUint8(0) - 128;
    case "I8":
      return v.getInt8(0);
    case "U16":
      return v.getUint16(0, true) - 32768;
    case "I16":
      return v.getInt16(0, true);
    case "U24":
      return v.getUint16(0, true) + v.getUint8(2) * 65536 - 8388608;
    case "I24": {
      const u = v.getUint16(0, true) + v.getUint8(2) * 65536;
      return u >= 8388608 ? u - 16777216 : u;
    }
    case "U32":
      return v.getUint32(0, true) - 2147483648;
    case "I32":
      return v.getInt32(0, true);
    case "U64":
      return Number(v.getBigUint64(0, true) - 2n ** 63n);
    case "I64":
      return Number(v.getBigInt64(0, true));
    case "IEEF32":
      return v.getFloat32(0, true);
    case "IEEF64":
      return v.getFloat64(0, true);
  }
}

/** Full scale by type, for the comparison with Math.sin: 2^(bits-1) - 1; 64-bit: (2^31 - 1) * 2^32. */
function fullScale(t: SampleType): number {
  const bits = SIZE[t] * 8;
  if (t === "IEEF32" || t === "IEEF64") return 1;
  if (bits === 64) return (2 ** 31 - 1) * 2 ** 32;
  return 2 ** (bits - 1) - 1;
}

/** One LSB of the type at full scale (64-bit: the LSB of its 32-bit precision). */
function lsb(t: SampleType): number {
  if (t === "IEEF32") return 2 ** -23;
  if (t === "IEEF64") return 2 ** -50;
  if (SIZE[t] === 8) return 2 ** 32;
  return 1;
}

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
    ["U24", 1, [0xff, 0xff, 0xff]],
    ["I32", 1, [0xff, 0xff, 0xff, 0x7f]],
    ["U32", 0, [0, 0, 0, 0x80]],
    ["I64", 1, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]],
    ["I64", -1, [0, 0, 0, 0, 0x01, 0x00, 0x00, 0x80]],
    ["U64", 0, [0, 0, 0, 0, 0, 0, 0, 0x80]],
    ["IEEF32", 1, [0, 0, 0x80, 0x3f]],
    ["IEEF64", -2, [0, 0, 0, 0, 0, 0, 0, 0xc0]],
  ];
  for (const [t, x, bytes] of cases) {
    it(`${t} ${x} is ${bytes.map((b) => b.toString(16)).join(" ")}`, () => {
      const u = new Uint8Array(SIZE[t] + 2);
      encodeSample(new DataView(u.buffer), 1, t, x);
      expect(Array.from(u)).toEqual([0, ...bytes, 0]);
    });
  }
});

describe("tone source", () => {
  /** The smallest period (bytes) of a source's stream, looked for within `limit` bytes. */
  function periodOf(src: Source, maxBytes: number, limit: number): number {
    const bytes = read(src, 0, 2 * limit, maxBytes);
    for (let p = 1; p <= limit; p++) {
      let same = true;
      for (let k = 0; same && k + p < bytes.length; k++) same = bytes[k] === bytes[k + p];
      if (same) return p;
    }
    return -1;
  }

  it("rounds the frequency so that the period is a whole number of frames", () => {
    // I16 mono: 2 bytes per frame. The tone played is sampleRate / P.
    const at = (over: Partial<InputConfig>) =>
      periodOf(createSource(input(over), 0, 512) as Source, 512, 2100) / 2;
    expect(at({})).toBe(36); // 440 Hz at 16 kHz: 444.4 Hz
    expect(at({ sampleRate: 48000 })).toBe(109); // 440.4 Hz
    expect(at({ toneHz: 5000 })).toBe(3); // 3.2 frames: 5333 Hz
    expect(at({ toneHz: 1 })).toBe(1024); // a 2048-byte period at most
    // at and above Nyquist: 2 frames, sampled at the sine's zero crossings
    for (const toneHz of [8000, 20000, 1e6]) {
      expect(read(createSource(input({ toneHz }), 0, 64) as Source, 3, 64, 64)).toEqual(
        new Array(64).fill(0),
      );
    }
  });

  for (const t of TYPES) {
    it(`${t}: every sample is amplitude*sin(2*pi*frame/P) within one LSB, on every channel`, () => {
      const channels = 2;
      const cfg = input({
        sampleType: t,
        channelCount: channels,
        sampleRate: 48000,
        toneHz: 1000,
        amplitude: 0.8,
      });
      const P = Math.round(48000 / 1000);
      const size = SIZE[t];
      const payload = 64 * channels * size;
      const src = createSource(cfg, 0, payload) as Source;
      const frames = 3 * P + 7;
      const all = new Uint8Array(frames * channels * size);
      for (let off = 0; off < all.length; off += payload) {
        const n = Math.min(payload, all.length - off);
        src.fill(all, off, n, off);
      }
      for (let f = 0; f < frames; f++) {
        const want = 0.8 * Math.sin((2 * Math.PI * (f % P)) / P) * fullScale(t);
        for (let c = 0; c < channels; c++) {
          const got = decode(all, (f * channels + c) * size, t);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(lsb(t) * (t === "IEEF32" ? fullScale(t) : 1));
        }
      }
      // any range read at any byte offset is the same as the continuous stream
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: all.length - 1 }),
          fc.integer({ min: 0, max: 3 * payload }),
          (k, n) => {
            n = Math.min(n, all.length - k);
            expect(read(src, k, n, payload)).toEqual(Array.from(all.subarray(k, k + n)));
          },
        ),
        { numRuns: 50 },
      );
    });
  }

  it("keeps its phase at large byte indices (period-exact)", () => {
    const src = createSource(input({}), 0, 512) as Source;
    const periodBytes = 36 * 2;
    const base = read(src, 0, 512, 512);
    const k = 2 ** 40 * periodBytes; // a multiple of the period far beyond 2^32
    expect(read(src, k, 512, 512)).toEqual(base);
    expect(read(src, k + 10, 100, 512)).toEqual(base.slice(10, 110));
  });
});

describe("pattern source", () => {
  it("byte k of stream s is (k*31 + s*7) & 0xff, for any offset and length", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 1, max: 1455 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.integer({ min: 0, max: 4000 }),
        (s, maxBytes, k, n) => {
          const src = createSource(input({ source: "pattern" }), s, maxBytes) as Source;
          const want: number[] = [];
          for (let i = 0; i < n; i++) want.push(Number((BigInt(k + i) * 31n + BigInt(s) * 7n) & 0xffn));
          expect(read(src, k, n, maxBytes)).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("silence source", () => {
  const silence: Record<SampleType, number[]> = {
    U8: [0x80],
    U16: [0x00, 0x80],
    U24: [0x00, 0x00, 0x80],
    U32: [0x00, 0x00, 0x00, 0x80],
    U64: [0, 0, 0, 0, 0, 0, 0, 0x80],
    I8: [0],
    I16: [0, 0],
    I24: [0, 0, 0],
    I32: [0, 0, 0, 0],
    I64: [0, 0, 0, 0, 0, 0, 0, 0],
    IEEF32: [0, 0, 0, 0],
    IEEF64: [0, 0, 0, 0, 0, 0, 0, 0],
  };
  for (const t of TYPES) {
    it(`${t}: the type's silence, aligned to sample boundaries of the stream`, () => {
      const src = createSource(
        input({ source: "silence", sampleType: t, channelCount: 3 }),
        0,
        100,
      ) as Source;
      const one = silence[t];
      for (const k of [0, 1, 5, 7, 1001]) {
        const want: number[] = [];
        for (let i = 0; i < 250; i++) want.push(one[(k + i) % one.length] as number);
        expect(read(src, k, 250, 100)).toEqual(want);
      }
    });
  }
});

describe("loopback", () => {
  it("has no source: its input stream is fed by reflection, not paced", () => {
    expect(createSource(input({ source: "loopback" }), 0, 100)).toBeUndefined();
  });
});
