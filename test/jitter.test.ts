import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JitterBuffer } from "../host/client/jitter.js";
import { StreamReceiver } from "../shared/audio/receiver.js";

/*
 * Most tests use I16 mono at 1000 Hz: one frame per ms, 2 bytes per frame, so times and frame
 * numbers can be computed by hand. Frame f carries the sample value f + 1 (never 0, so silence
 * shows), as bytes [f + 1, 0].
 */
const MONO_1K = { sampleRate: 1000, channelCount: 1, sampleType: "I16" as const };

function frames(from: number, to: number): Uint8Array {
  const b = new Uint8Array(2 * (to - from));
  for (let f = from; f < to; f++) b[2 * (f - from)] = (f + 1) & 0xff;
  return b;
}

/** What a pull returned, one sample value per frame (0 = silence). */
function values(out: Uint8Array, n: number): number[] {
  const v: number[] = [];
  for (let i = 0; i < n; i++) v.push((out[2 * i] as number) | ((out[2 * i + 1] as number) << 8));
  return v;
}

function range(from: number, to: number): number[] {
  const r: number[] = [];
  for (let f = from; f < to; f++) r.push(f + 1);
  return r;
}

function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}

/** Pulls at `now` (up to 1000 frames) and returns the sample values. */
function pull(jb: JitterBuffer, now: number): number[] {
  const out = new Uint8Array(2000).fill(0xee);
  const n = jb.pull(now, out, 0, 1000);
  return values(out, n);
}

/** A packet of 5 frames (10 bytes) for frames [5k, 5k+5). */
function packet(jb: JitterBuffer, k: number, at: number): void {
  jb.put(10 * k, frames(5 * k, 5 * k + 5), 0, 10, at);
}

describe("JitterBuffer on a virtual clock", () => {
  it("regular stream: plays each frame target latency after the arrival of its packet", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 10 });
    // Packet k (frames 5k..5k+4) arrives at 100 + 5k. Anchor: start = 100 - 0 + 10 = 110, so
    // frame f is due at 111 + f, and framesDue(t) = floor(t - 110).
    packet(jb, 0, 100);
    expect(jb.framesDue(110)).toBe(0);
    expect(jb.dueTimeMs(0)).toBe(111);
    expect(pull(jb, 105)).toEqual([]);
    packet(jb, 1, 105);
    packet(jb, 2, 110);
    expect(pull(jb, 110)).toEqual([]);
    expect(pull(jb, 117)).toEqual(range(0, 7));
    packet(jb, 3, 115);
    packet(jb, 4, 120);
    expect(jb.bufferedFrames).toBe(25 - 7);
    expect(pull(jb, 130)).toEqual(range(7, 20));
    expect(jb.readFrame).toBe(20);
    expect(jb.framesPlayed).toBe(20);
    expect([jb.lateBytes, jb.underrunFrames, jb.underruns, jb.overflowBytes]).toEqual([0, 0, 0, 0]);
  });

  it("a delay spike: frames already due on arrival are late and dropped, and play as underrun", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 10 });
    packet(jb, 0, 100);
    packet(jb, 1, 105);
    packet(jb, 2, 110);
    expect(pull(jb, 115)).toEqual(range(0, 5));
    expect(pull(jb, 120)).toEqual(range(5, 10));
    expect(pull(jb, 125)).toEqual(range(10, 15));
    // Packets 3-5 (frames 15-29) are held up and arrive together at 127: framesDue(127) = 17,
    // so frames 15 and 16 (bytes 30-33) are late; frames 17-29 are in time.
    packet(jb, 3, 127);
    packet(jb, 4, 127);
    packet(jb, 5, 127);
    expect(jb.lateBytes).toBe(4);
    expect(pull(jb, 130)).toEqual([0, 0, ...range(17, 20)]);
    expect(jb.underrunFrames).toBe(2);
    expect(jb.underruns).toBe(1);
    expect(pull(jb, 140)).toEqual(range(20, 30));
    // The stream stops: frames 30-34 are underruns, a second run.
    expect(pull(jb, 145)).toEqual(zeros(5));
    expect([jb.underrunFrames, jb.underruns]).toEqual([7, 2]);
  });

  it("lateness does not depend on when the playout pulls", () => {
    // Same arrivals as above, but no pull before 130: frames 15 and 16 are still late.
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 10 });
    packet(jb, 0, 100);
    packet(jb, 1, 105);
    packet(jb, 2, 110);
    packet(jb, 3, 127);
    expect(jb.lateBytes).toBe(4);
    expect(pull(jb, 130)).toEqual([...range(0, 15), 0, 0, ...range(17, 20)]);
  });

  it("data arriving exactly at its due time is late", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 0 });
    // start = 100: frame f is due at 101 + f.
    jb.put(0, frames(0, 1), 0, 2, 100);
    jb.put(2, frames(1, 2), 0, 2, 102); // frame 1 due at 102
    jb.put(4, frames(2, 3), 0, 2, 102.5); // frame 2 due at 103
    expect(jb.lateBytes).toBe(2);
    expect(pull(jb, 103)).toEqual([1, 0, 3]);
  });

  it("a first packet that is not at byte 0 anchors by its byte index", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 10 });
    // Frames 10-14 arrive at 100: start = 100 - 10 + 10 = 100, frame f due at 101 + f.
    jb.put(20, frames(10, 15), 0, 10, 100);
    expect(pull(jb, 115)).toEqual([...zeros(10), ...range(10, 15)]);
    expect([jb.underrunFrames, jb.underruns]).toEqual([10, 1]);
  });

  it("overflow: data beyond the ring's capacity from the play position is dropped and counted", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 10, capacityMs: 40 });
    expect(jb.capacityFrames).toBe(40);
    // 60 frames at once at 100: frames 40-59 (bytes 80-119) do not fit.
    jb.put(0, frames(0, 60), 0, 120, 100);
    expect(jb.overflowBytes).toBe(40);
    // start = 110; at 150, 40 frames are due.
    expect(pull(jb, 150)).toEqual(range(0, 40));
    // Room again: frames 60-64 fit now (and arrive in time: due at 171+).
    jb.put(120, frames(60, 65), 0, 10, 150);
    expect(pull(jb, 175)).toEqual([...zeros(20), ...range(60, 65)]);
    expect(jb.underrunFrames).toBe(20);
  });

  it("silence put in for lost samples plays as silence (U8: 0x80) and is no underrun", () => {
    const jb = new JitterBuffer(
      { sampleRate: 1000, channelCount: 2, sampleType: "U8" },
      { targetLatencyMs: 5 },
    );
    jb.put(0, new Uint8Array([1, 2, 3, 4]), 0, 4, 100);
    jb.putSilence(4, 4, 100);
    jb.put(8, new Uint8Array([9, 10]), 0, 2, 100);
    const out = new Uint8Array(10);
    // start = 105; frames due at 106, 107, ...; at 110, 5 frames are due.
    expect(jb.pull(110, out, 0, 100)).toBe(5);
    expect([...out]).toEqual([1, 2, 3, 4, 0x80, 0x80, 0x80, 0x80, 9, 10]);
    expect([jb.underrunFrames, jb.underruns]).toEqual([0, 0]);
  });

  it("a frame completed late is not played, even if its first samples were in time", () => {
    // I16 stereo at 1000 Hz: 4-byte frames.
    const jb = new JitterBuffer(
      { sampleRate: 1000, channelCount: 2, sampleType: "I16" },
      { targetLatencyMs: 0 },
    );
    jb.put(0, new Uint8Array([1, 0, 2, 0, 3, 0]), 0, 6, 100); // frame 0 and the left sample of frame 1
    jb.put(6, new Uint8Array([4, 0]), 0, 2, 102); // frame 1 was due at 102: late
    expect(jb.lateBytes).toBe(2);
    const out = new Uint8Array(8);
    expect(jb.pull(102, out, 0, 10)).toBe(2);
    expect([...out]).toEqual([1, 0, 2, 0, 0, 0, 0, 0]);
    expect(jb.underrunFrames).toBe(1);
  });

  it("pulls no more than maxFrames nor than fit in the output; the rest comes next", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 0 });
    jb.put(0, frames(0, 10), 0, 20, 100);
    const out = new Uint8Array(7); // room for 3 frames
    expect(jb.pull(110, out, 0, 100)).toBe(3);
    expect(jb.pull(110, out, 2, 100)).toBe(2);
    expect(jb.pull(110, new Uint8Array(100), 0, 4)).toBe(4);
    expect(jb.readFrame).toBe(9);
  });

  it("works as a StreamReceiver's sink, with arrivalMs set per message", () => {
    const format = { ...MONO_1K, bufferSize: 5 };
    const jb = new JitterBuffer(format, { targetLatencyMs: 10 });
    const rx = new StreamReceiver(format, jb);
    jb.arrivalMs = 100;
    rx.receive({ hi: 0, lo: 0 }, frames(0, 5));
    jb.arrivalMs = 110; // packet 1 (frames 5-9) lost: the receiver pads it when packet 2 arrives
    rx.receive({ hi: 0, lo: 20 }, frames(10, 15));
    expect(pull(jb, 125)).toEqual([...range(0, 5), ...zeros(5), ...range(10, 15)]);
    expect(jb.underrunFrames).toBe(0);
  });

  it("rejects bad options", () => {
    expect(() => new JitterBuffer(MONO_1K, { targetLatencyMs: -1 })).toThrow(/"targetLatencyMs"/);
    expect(() => new JitterBuffer(MONO_1K, { targetLatencyMs: 50, capacityMs: 20 })).toThrow(/"capacityMs"/);
    expect(() => new JitterBuffer({ sampleRate: 1e12, channelCount: 8, sampleType: "IEEF64" })).toThrow(
      /too large/,
    );
  });

  it("reset forgets the anchor, the data and the counters", () => {
    const jb = new JitterBuffer(MONO_1K, { targetLatencyMs: 0 });
    jb.put(0, frames(0, 5), 0, 10, 100);
    pull(jb, 110);
    jb.reset();
    expect([jb.started, jb.readFrame, jb.framesPlayed, jb.underrunFrames]).toEqual([false, 0, 0, 0]);
    jb.put(0, frames(0, 2), 0, 4, 500);
    expect(pull(jb, 502)).toEqual(range(0, 2));
  });

  it("property: any pull schedule plays the same frames with the same counters (ring never full)", () => {
    // Puts of whole frames at non-decreasing times, in order; pulls at random times between them.
    // The ring is large enough never to overflow: room depends on the play position, lateness does not.
    const step = fc.record({
      delay: fc.integer({ min: 0, max: 12 }),
      frames: fc.integer({ min: 1, max: 8 }),
      skip: fc.integer({ min: 0, max: 3 }),
      pulls: fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 20 }),
        (steps, target) => {
          const a = new JitterBuffer(MONO_1K, { targetLatencyMs: target, capacityMs: 1000 });
          const b = new JitterBuffer(MONO_1K, { targetLatencyMs: target, capacityMs: 1000 });
          const playedA: number[] = [];
          let t = 0;
          let f = 0;
          for (const s of steps) {
            t += s.delay;
            f += s.skip;
            a.put(2 * f, frames(f, f + s.frames), 0, 2 * s.frames, t);
            b.put(2 * f, frames(f, f + s.frames), 0, 2 * s.frames, t);
            f += s.frames;
            for (const p of s.pulls) playedA.push(...pull(a, t + p));
            // Pulls are not allowed to go back in time before the next put.
            if (s.pulls.length > 0) t += Math.max(...s.pulls);
          }
          const end = t + 200;
          playedA.push(...pull(a, end));
          const playedB = pull(b, end);
          expect(playedA).toEqual(playedB);
          expect(b.overflowBytes).toBe(0);
          for (const k of [
            "lateBytes",
            "underrunFrames",
            "underruns",
            "overflowBytes",
            "framesPlayed",
          ] as const) {
            expect(a[k]).toBe(b[k]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
