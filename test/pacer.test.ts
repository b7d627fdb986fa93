import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Pacer } from "../shared/audio/pacer.js";
import { mulberry32 as prng } from "./support/prng.js";

/** The exact value of a finite non-negative double as a fraction num / den (den a power of two). */
function exact(x: number): { num: bigint; den: bigint } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const e = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let shift: number;
  if (e === 0) shift = -1074;
  else {
    mant |= 1n << 52n;
    shift = e - 1075;
  }
  return shift >= 0 ? { num: mant << BigInt(shift), den: 1n } : { num: mant, den: 1n << BigInt(-shift) };
}

/**
 * Checks frames = the pacer's count at elapsed ms against the exact floor(elapsed * rate / 1000)
 * computed with integers. A difference of one frame is tolerated only when the exact value lies
 * within 1e-6 frames of an integer (float rounding, or the pacer's 1e-9 nudge).
 */
function checkFrames(frames: number, elapsed: number, rate: number): void {
  const e = exact(elapsed);
  const r = exact(rate);
  const num = e.num * r.num;
  const den = e.den * r.den * 1000n;
  const fl = num / den;
  const rem = num % den;
  const got = BigInt(frames);
  if (got === fl) return;
  if (got === fl + 1n && (den - rem) * 1_000_000n < den) return; // just below an integer
  if (got === fl - 1n && rem * 1_000_000n < den) return; // just above an integer
  throw new Error(`at ${elapsed} ms, ${rate} Hz: pacer says ${frames} frames, exact floor is ${fl}`);
}

describe("Pacer: hand-computed values", () => {
  it("48 kHz, 4-byte frames", () => {
    const p = new Pacer(48000, 4);
    expect(p.due(1000)).toBe(0); // not started
    p.start(1000);
    expect(p.due(1000)).toBe(0);
    expect(p.due(999)).toBe(0); // clock before the anchor
    expect(p.due(1001)).toBe(192); // 48 frames x 4
    p.take(100);
    expect(p.taken).toBe(100);
    expect(p.due(1001)).toBe(92);
    expect(p.due(1000.5)).toBe(0); // 24 frames = 96 bytes < 100 taken: never negative
    expect(p.due(1002)).toBe(284); // 96 frames = 384 - 100
    p.stop();
    expect(p.due(5000)).toBe(0);
  });

  it("44.1 kHz rounds down to whole frames", () => {
    const p = new Pacer(44100, 2);
    p.start(0);
    expect(p.framesAt(1)).toBe(44); // 44.1
    expect(p.framesAt(10)).toBe(441);
    expect(p.framesAt(10.5)).toBe(463); // 463.05
    expect(p.due(10.5)).toBe(926);
  });

  it("a late tick finds everything due: jitter is not rate error", () => {
    const a = new Pacer(48000, 8);
    const b = new Pacer(48000, 8);
    a.start(0);
    b.start(0);
    for (let t = 1; t <= 1000; t++) a.take(a.due(t)); // regular 1 ms ticks
    for (const t of [3.7, 250, 251.2, 999.99, 1000]) b.take(b.due(t)); // irregular, with a 250 ms stall
    expect(a.taken).toBe(48000 * 8);
    expect(b.taken).toBe(48000 * 8);
  });

  it("dueAtMs is the earliest time the bytes are due", () => {
    const p = new Pacer(48000, 4);
    p.start(0);
    expect(p.dueAtMs(192)).toBe(1); // 48 frames
    p.take(192);
    expect(p.dueAtMs(384)).toBe(3); // 144 frames in total
    const q = new Pacer(44100, 2);
    q.start(0);
    expect(q.dueAtMs(882)).toBe(10); // 441 frames
    const t = q.dueAtMs(2); // one frame: 1000/44100 ms
    expect(q.due(t)).toBe(2);
    expect(q.due(t - 0.001)).toBe(0);
  });

  it("dueAtMs: due(dueAtMs(n)) >= n, and not earlier (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 8000, max: 192000, noNaN: true }),
        fc.integer({ min: 1, max: 64 }),
        fc.double({ min: 0, max: 1e12, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 1, max: 5000 }),
        (rate, frameSize, anchor, taken, n) => {
          const p = new Pacer(rate, frameSize);
          p.start(anchor);
          p.take(taken);
          const t = p.dueAtMs(n);
          expect(p.due(t)).toBeGreaterThanOrEqual(n);
          expect(p.due(t - 0.02)).toBeLessThan(n);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("Pacer: long runs with irregular ticks", () => {
  const DAY_MS = 86_400_000;
  // floor(86400 s x rate), hand-computed: 86400 x 44100, 86400 x 48000, 86400 x 96000.5
  const cases: [number, number][] = [
    [44100, 3_810_240_000],
    [48000, 4_147_200_000],
    [96000.5, 8_294_443_200],
  ];
  for (const [rate, dayFrames] of cases) {
    it(`24 h at ${rate} Hz: never negative, never ahead of the exact count, total exact`, () => {
      const frameSize = 6;
      const message = 1452; // bytes a sender takes at a time
      const anchor = 1_700_000_000_123.25; // a Date.now()-like anchor, exact in binary
      const rnd = prng(rate);
      const p = new Pacer(rate, frameSize);
      p.start(anchor);
      let now = anchor;
      let lastFrames = 0;
      for (let i = 0; i < 200_000; i++) {
        now += rnd() < 0.1 ? rnd() * 3000 : rnd() * 1000; // 0-1 s ticks, sometimes up to 3 s
        if (now - anchor >= DAY_MS) break;
        // Plain checks in the loop (expect() per tick would dominate the run time).
        const frames = p.framesAt(now);
        if (frames < lastFrames) throw new Error(`frames went back at ${now}`);
        lastFrames = frames;
        checkFrames(frames, now - anchor, rate);
        const due = p.due(now);
        if (due < 0 || due !== frames * frameSize - p.taken) throw new Error(`due ${due} at ${now}`);
        // Sometimes take whole messages only, sometimes everything.
        if (i % 3 === 0) p.take(due);
        else p.take(due - (due % message));
        if (p.taken > frames * frameSize) throw new Error(`taken ahead at ${now}`);
      }
      expect(lastFrames).toBeGreaterThan(dayFrames - rate * 3); // the ticks did cover the day
      now = anchor + DAY_MS;
      expect(now - anchor).toBe(DAY_MS);
      expect(p.framesAt(now)).toBe(dayFrames);
      p.take(p.due(now));
      expect(p.taken).toBe(dayFrames * frameSize);
      expect(p.due(now)).toBe(0);
    });
  }

  it("10 minutes at 96000.5 Hz with ESP32-like 0-20 ms jittery ticks", () => {
    const rnd = prng(7);
    const p = new Pacer(96000.5, 4);
    p.start(12.5);
    let now = 12.5;
    let lastFrames = 0;
    for (let i = 0; i < 200_000; i++) {
      now += rnd() * 20;
      if (now - 12.5 >= 600_000) break;
      const frames = p.framesAt(now);
      if (frames < lastFrames) throw new Error(`frames went back at ${now}`);
      lastFrames = frames;
      checkFrames(frames, now - 12.5, 96000.5);
      p.take(p.due(now));
    }
    p.take(p.due(600_012.5));
    expect(p.taken).toBe(57_600_300 * 4); // 600 s x 96000.5
  });
});
