import { describe, expect, it } from "vitest";
import { JitterBuffer } from "../host/client/jitter.js";
import { LatencyTracker, LoopbackRtt, RttTracker, StreamStats } from "../host/client/stats.js";

// U8 mono at 1000 Hz: 1000 bytes/s, so a message's send time in ms is its byte index.
const U8_1K = { sampleRate: 1000, channelCount: 1, sampleType: "U8" as const };

describe("StreamStats: RFC 3550 interarrival jitter", () => {
  it("matches the jitter computed by hand for a known arrival sequence", () => {
    const s = new StreamStats(U8_1K);
    // (byte_idx, arrival ms); S = byte_idx ms.
    s.packet(0, 10, 100); // first packet: no D, J = 0
    expect(s.jitterMs).toBe(0);
    s.packet(10, 10, 112); // D = (112-100) - (10-0) = 2; J = 0 + (2 - 0)/16 = 0.125
    expect(s.jitterMs).toBe(0.125);
    s.packet(20, 10, 118); // D = 6 - 10 = -4; J = 0.125 + (4 - 0.125)/16 = 0.3671875
    expect(s.jitterMs).toBe(0.3671875);
    s.packet(30, 10, 131); // D = 13 - 10 = 3; J = 0.3671875 + (3 - 0.3671875)/16 = 0.53173828125
    expect(s.jitterMs).toBe(0.53173828125);
    s.packet(40, 10, 141); // D = 0; J = 0.53173828125 * 15/16 = 0.498504638671875
    expect(s.jitterMs).toBe(0.498504638671875);
  });

  it("uses the byte rate of the format: I16 stereo at 8 kHz is 32 bytes per ms", () => {
    const s = new StreamStats({ sampleRate: 8000, channelCount: 2, sampleType: "I16" });
    expect(s.byteRate).toBe(32000);
    s.packet({ hi: 0, lo: 0 }, 320, 0);
    s.packet({ hi: 0, lo: 320 }, 320, 26); // S = 10 ms; D = 26 - 10 = 16; J = 1
    expect(s.jitterMs).toBe(1);
  });

  it("takes reordered packets in arrival order, as RFC 3550 does", () => {
    const s = new StreamStats(U8_1K);
    s.packet(0, 10, 100);
    s.packet(20, 10, 120); // D = 20 - 20 = 0
    s.packet(10, 10, 121); // D = 1 - (-10) = 11; J = 11/16 = 0.6875
    expect(s.jitterMs).toBe(0.6875);
  });
});

describe("StreamStats: loss, reordering, duplicates", () => {
  it("counts gaps as lost bytes, and bytes that come later as recovered", () => {
    const s = new StreamStats(U8_1K);
    expect(s.packet(0, 10, 0)).toBe("in-order");
    expect(s.packet(20, 10, 1)).toBe("gap"); // bytes 10-19 missing
    expect([s.gaps, s.lostBytes]).toEqual([1, 10]);
    expect(s.packet(10, 10, 2)).toBe("reordered");
    expect([s.reordered, s.recoveredBytes, s.lostBytes]).toEqual([1, 10, 0]);
    expect(s.packet(10, 10, 3)).toBe("duplicate");
    expect(s.packet(0, 10, 4)).toBe("duplicate");
    expect(s.packet(40, 10, 5)).toBe("gap"); // bytes 30-39
    expect(s.packet(32, 4, 6)).toBe("reordered"); // fills 32-35 out of the middle
    expect([s.lostBytes, s.recoveredBytes]).toEqual([6, 14]);
    expect(s.packet(30, 10, 7)).toBe("reordered"); // 30-31 and 36-39 are new, 32-35 seen
    expect([s.lostBytes, s.recoveredBytes, s.reordered, s.duplicates]).toEqual([0, 20, 3, 2]);
    expect(s.packet(50, 0, 8)).toBe("in-order");
    expect([s.packets, s.bytes, s.nextByte]).toEqual([9, 74, 50]);
  });

  it("a message that starts before the expected byte and runs past it moves the expected byte", () => {
    const s = new StreamStats(U8_1K);
    s.packet(0, 10, 0);
    expect(s.packet(5, 10, 1)).toBe("duplicate"); // nothing in a gap
    expect(s.nextByte).toBe(15);
    expect(s.packet(15, 5, 2)).toBe("in-order");
  });

  it("remembers only the latest gapMemory gaps", () => {
    const s = new StreamStats(U8_1K, { gapMemory: 1 });
    s.packet(0, 10, 0);
    s.packet(20, 10, 1); // gap 10-19
    s.packet(40, 10, 2); // gap 30-39; 10-19 forgotten
    expect(s.packet(10, 10, 3)).toBe("duplicate");
    expect(s.packet(30, 10, 4)).toBe("reordered");
    expect(s.lostBytes).toBe(10);
  });

  it("snapshot merges the playout counters of a jitter buffer", () => {
    const s = new StreamStats(U8_1K);
    s.packet(0, 10, 0);
    const jb = new JitterBuffer(U8_1K, { targetLatencyMs: 0 });
    jb.put(0, new Uint8Array(10), 0, 10, 0);
    jb.put(10, new Uint8Array(5), 0, 5, 13); // frames 10-12 due by 13: 3 late bytes
    jb.pull(20, new Uint8Array(100), 0, 100); // 20 frames: 10-12 and 15-19 underrun (2 runs)
    const snap = s.snapshot(jb);
    expect(snap).toEqual({
      packets: 1,
      bytes: 10,
      gaps: 0,
      lostBytes: 0,
      reordered: 0,
      recoveredBytes: 0,
      duplicates: 0,
      jitterMs: 0,
      lateBytes: 3,
      underrunFrames: 8,
      underruns: 2,
      overflowBytes: 0,
    });
    expect(s.snapshot().underrunFrames).toBe(0);
  });

  it("reset starts over", () => {
    const s = new StreamStats(U8_1K);
    s.packet(0, 10, 0);
    s.packet(20, 10, 50);
    s.reset();
    expect(s.snapshot()).toMatchObject({ packets: 0, lostBytes: 0, jitterMs: 0 });
    expect(s.packet(0, 10, 1000)).toBe("in-order");
    expect(s.jitterMs).toBe(0);
  });
});

describe("RttTracker", () => {
  it("keeps min, mean, max and last; refuses invalid samples", () => {
    const r = new RttTracker();
    expect(r.snapshot().count).toBe(0);
    expect(Number.isNaN(r.meanMs)).toBe(true);
    r.add(10);
    r.add(30);
    r.add(20);
    r.add(-1);
    r.add(Number.NaN);
    r.add(Number.POSITIVE_INFINITY);
    expect(r.snapshot()).toEqual({ count: 3, minMs: 10, meanMs: 20, maxMs: 30, lastMs: 20 });
    expect(r.invalid).toBe(3);
    r.add(0);
    expect(r.snapshot()).toEqual({ count: 4, minMs: 0, meanMs: 15, maxMs: 30, lastMs: 0 });
  });
});

describe("LoopbackRtt", () => {
  it("measures from sending byte k to receiving it back, once per sent message", () => {
    const l = new LoopbackRtt();
    l.sent(0, 100, 0);
    l.sent({ hi: 0, lo: 100 }, 100, 10);
    l.sent(200, 100, 20);
    expect(l.received(100, 100, 25)).toBe(15);
    expect(l.received({ hi: 0, lo: 0 }, 100, 26)).toBe(26);
    expect(l.received(0, 100, 30)).toBeUndefined(); // a duplicate echo
    expect(l.received(150, 50, 31)).toBeUndefined(); // inside a message already measured
    expect(l.received(250, 50, 32)).toBe(12); // inside a message not yet measured
    expect(l.received(500, 10, 33)).toBeUndefined(); // never sent
    expect(l.received(200, 0, 33)).toBeUndefined(); // empty
    expect(l.unmatched).toBe(4);
    expect(l.rtt.snapshot()).toEqual({ count: 3, minMs: 12, meanMs: 53 / 3, maxMs: 26, lastMs: 12 });
  });

  it("forgets the oldest sends beyond its capacity", () => {
    const l = new LoopbackRtt(2);
    l.sent(0, 10, 0);
    l.sent(10, 10, 1);
    l.sent(20, 10, 2);
    l.sent(30, 0, 3); // empty: not recorded
    expect(l.received(0, 10, 5)).toBeUndefined();
    expect(l.received(10, 10, 5)).toBe(4);
    expect(l.received(20, 10, 5)).toBe(3);
  });

  it("rejects a bad capacity", () => {
    expect(() => new LoopbackRtt(0)).toThrow(/"capacity"/);
  });
});

describe("LatencyTracker: achieved latency from each message's first sample to its arrival", () => {
  it("gives the percentiles and maximum computed by hand (0.1 ms bins, upper edge)", () => {
    // U8 mono at 1000 Hz: byte k is due k ms after Start(Ok).
    const t = new LatencyTracker(U8_1K);
    expect(t.snapshot().count).toBe(0);
    expect(t.snapshot().p50Ms).toBeNaN();
    t.add(0, 10, 10.05); // 10.05 ms: bin [10.0, 10.1)
    t.add(10, 10, 25); // 15 ms
    t.add(20, 10, 32.55); // 12.55 ms: bin [12.5, 12.6)
    t.add(30, 20, 100); // 70 ms, and the largest message: 20 bytes = 20 ms
    const s = t.snapshot();
    expect(s.count).toBe(4);
    expect(s.packetMs).toBe(20);
    expect(s.maxMs).toBe(70);
    expect(s.anchorShiftMs).toBe(0);
    // sorted: 10.05, 12.55, 15, 70; p50 = 2nd (rank ceil(0.5*4)) -> bin [12.5, 12.6) -> 12.6
    expect(s.p50Ms).toBeCloseTo(12.6, 9);
    // p99 = 4th -> 70 (the upper edge 70.1 is capped at the maximum)
    expect(s.p99Ms).toBe(70);
  });

  it("moves the anchor back when a message arrives before its last sample could be due (Start(Ok) came late)", () => {
    const t = new LatencyTracker(U8_1K);
    t.add(0, 10, 4); // bytes 0..9 are due by 10 ms on the Start(Ok) anchor, arrived at 4: 6 ms early
    t.add(10, 10, 20); // exactly on time on that anchor
    const s = t.snapshot();
    expect(s.anchorShiftMs).toBe(6);
    // On the corrected anchor the latencies are 4 + 6 = 10 and 10 + 6 = 16.
    expect(s.maxMs).toBe(16);
    expect(s.p50Ms).toBeCloseTo(10.1, 9);
  });

  it("keeps beyond-range latencies in its maximum and last bin; ignores non-finite times", () => {
    const t = new LatencyTracker({ sampleRate: 8000, channelCount: 2, sampleType: "I16" }); // 32 B/ms
    t.add(3200, 320, 100 + 9000); // due at 100 ms, arrived 9 s late
    t.add(0, 320, Number.NaN);
    const s = t.snapshot();
    expect(s.count).toBe(1);
    expect(s.maxMs).toBe(9000);
    expect(s.p50Ms).toBe(9000);
    expect(s.packetMs).toBe(10);
  });
});
