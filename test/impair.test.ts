import { describe, expect, it } from "vitest";
import { type ImpairmentOptions, impair } from "../host/transport/impair.js";
import { MemoryNetwork, type MemoryTransport } from "../host/transport/memory.js";
import { Xoshiro128 } from "../host/transport/prng.js";
import type { TransportError } from "../shared/transport.js";

const SENDER = "127.0.0.1";
const RECEIVER = "127.0.0.2";
const PORT = 6910;

/** One received datagram: the sequence number written into it, and the virtual arrival time. */
interface Arrival {
  seq: number;
  atMs: number;
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq, true);
  return b;
}

function readSeq(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
}

/**
 * A sender (impaired on send) and a plain receiver on one memory network with no latency, so the
 * virtual arrival time is exactly the delay the layer added.
 */
function link(options: Partial<Readonly<ImpairmentOptions>>) {
  const net = new MemoryNetwork();
  const inner = net.createTransport(SENDER, 5000);
  const tx = impair(inner, { schedule: net.schedule, ...options });
  const rx = net.createTransport(RECEIVER, PORT);
  const arrivals: Arrival[] = [];
  rx.onDatagram((data) => arrivals.push({ seq: readSeq(data), atMs: net.nowMs }));
  return { net, inner, tx, rx, arrivals };
}

/**
 * Sends `n` numbered datagrams at time 0 and runs the clock until everything has arrived. All of
 * them may be held at once (unless the options say otherwise).
 */
function blast(options: Partial<Readonly<ImpairmentOptions>>, n: number) {
  const l = link({ maxHeld: n, ...options });
  for (let i = 0; i < n; i++) l.tx.send(seqBytes(i), RECEIVER, PORT);
  l.net.runUntilIdle();
  return l;
}

/** |observed - n p| must stay within `sigmas` binomial standard deviations. */
function expectBinomial(observed: number, n: number, p: number, sigmas = 5): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  expect(
    Math.abs(observed - mean),
    `observed ${observed}, expected ${mean} ± ${sigmas} x ${sd.toFixed(1)}`,
  ).toBeLessThanOrEqual(sigmas * sd);
}

/**
 * Dvoretzky-Kiefer-Wolfowitz: the empirical CDF of n samples stays within eps of the true CDF
 * everywhere, except with probability 2 exp(-2 n eps^2). Here that probability is 1e-9.
 */
function dkwEpsilon(n: number): number {
  return Math.sqrt(Math.log(2 / 1e-9) / (2 * n));
}

function empiricalCdf(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

describe("prng: xoshiro128**", () => {
  it("matches the reference implementation's outputs for the state [1, 2, 3, 4]", () => {
    // The first outputs of Blackman and Vigna's xoshiro128starstar.c from s = {1, 2, 3, 4} (the
    // same vector rand_xoshiro tests against).
    const g = Xoshiro128.fromState(1, 2, 3, 4);
    const out = Array.from({ length: 10 }, () => g.nextUint32());
    expect(out).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it("repeats a seed, separates neighbouring seeds, and stays in [0, 1)", () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    const c = new Xoshiro128(43);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    const ys = Array.from({ length: 1000 }, () => c.next());
    expect(ys.filter((y, i) => y === xs[i]).length).toBeLessThan(5);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const open = new Xoshiro128(1);
    for (let i = 0; i < 1000; i++) {
      const u = open.nextOpen();
      expect(u > 0 && u <= 1).toBe(true);
    }
  });
});

describe("impair: determinism", () => {
  const everything: Partial<ImpairmentOptions> = {
    loss: 0.05,
    burstStart: 0.01,
    burstEnd: 0.3,
    duplicate: 0.05,
    reorder: 0.05,
    reorderPackets: 2,
    reorderDelayMs: 20,
    delayMs: 2,
    jitterMs: 3,
    tailProbability: 0.05,
  };

  it("gives the same arrivals (which, in what order, when) for the same seed, and others for another", () => {
    const run = (seed: number) => {
      const l = link({ ...everything, seed });
      for (let i = 0; i < 5000; i++) {
        l.tx.send(seqBytes(i), RECEIVER, PORT);
        l.net.advanceBy(1);
      }
      l.net.runUntilIdle();
      return { arrivals: l.arrivals, stats: { ...l.tx.stats.send } };
    };
    const first = run(7);
    const again = run(7);
    expect(again).toEqual(first);
    expect(run(8).arrivals).not.toEqual(first.arrivals);
    // Every stage did something, so the comparison covered them all.
    expect(first.stats.dropped).toBeGreaterThan(0);
    expect(first.stats.duplicated).toBeGreaterThan(0);
    expect(first.stats.reordered).toBeGreaterThan(0);
    expect(first.stats.delayed).toBeGreaterThan(0);
  });

  it("drops the same datagrams whatever the delay, duplication and reordering settings", () => {
    const lost = (options: Partial<ImpairmentOptions>) => {
      const l = blast({ seed: 3, loss: 0.2, burstStart: 0.02, ...options }, 5000);
      const got = new Set(l.arrivals.map((a) => a.seq));
      return Array.from({ length: 5000 }, (_, i) => i).filter((i) => !got.has(i));
    };
    const plain = lost({});
    expect(plain.length).toBeGreaterThan(0);
    expect(lost({ jitterMs: 10, tailProbability: 0.3, duplicate: 0.2, reorder: 0.2 })).toEqual(plain);
  });

  it("decides each direction on its own streams: receive traffic does not change what is sent", () => {
    const sentSeqs = (withIncoming: boolean) => {
      const net = new MemoryNetwork();
      const inner = net.createTransport(SENDER, 5000);
      const t = impair(inner, { schedule: net.schedule, direction: "both", seed: 11, loss: 0.3 });
      const rx = net.createTransport(RECEIVER, PORT);
      const other = net.createTransport("127.0.0.3", 7000);
      const got: number[] = [];
      rx.onDatagram((d) => got.push(readSeq(d)));
      for (let i = 0; i < 2000; i++) {
        t.send(seqBytes(i), RECEIVER, PORT);
        if (withIncoming && i % 3 === 0) other.send(seqBytes(i), SENDER, 5000);
        net.runUntilIdle();
      }
      if (withIncoming) expect(t.stats.receive.sent).toBeGreaterThan(0);
      return got;
    };
    expect(sentSeqs(true)).toEqual(sentSeqs(false));
  });
});

describe("impair: loss", () => {
  it("independent loss over 100,000 datagrams stays within 5 binomial standard deviations", () => {
    const n = 100_000;
    const p = 0.1;
    const l = blast({ seed: 12345, loss: p }, n);
    const s = l.tx.stats.send;
    expectBinomial(s.dropped, n, p);
    // What the receiver saw agrees with what the layer says it did.
    expect(l.arrivals.length).toBe(n - s.dropped);
    expect(s.delivered).toBe(n - s.dropped);
    expect(s.sent).toBe(n);
    expect(s.droppedInBurst).toBe(0);
  });

  it("no loss configured: everything arrives, in order, at once", () => {
    const l = blast({ seed: 1 }, 1000);
    expect(l.arrivals.map((a) => a.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(l.arrivals.every((a) => a.atMs === 0)).toBe(true);
    expect(l.net.stats.sent).toBe(1000);
  });

  it("Gilbert-Elliott: mean burst length 1/r and stationary loss p/(p+r)", () => {
    const n = 100_000;
    const p = 0.01;
    const r = 0.25;
    const l = blast({ seed: 99, burstStart: p, burstEnd: r, burstLoss: 1 }, n);
    const s = l.tx.stats.send;
    expect(s.droppedInBurst).toBe(s.dropped);

    // Runs of consecutive missing sequence numbers, as a receiver would measure them. The good
    // state loses nothing, so each run is exactly one stay in the bad state: geometric with mean
    // 1/r and standard deviation sqrt(1 - r) / r.
    const runs: number[] = [];
    let expected = 0;
    for (const a of l.arrivals) {
      if (a.seq > expected) runs.push(a.seq - expected);
      expected = a.seq + 1;
    }
    if (expected < n) runs.push(n - expected);
    const total = runs.reduce((x, y) => x + y, 0);
    expect(total).toBe(s.dropped);
    const mean = total / runs.length;
    const sdOfMean = Math.sqrt(1 - r) / r / Math.sqrt(runs.length);
    expect(Math.abs(mean - 1 / r), `mean burst ${mean} over ${runs.length} bursts`).toBeLessThanOrEqual(
      5 * sdOfMean,
    );

    // Loss rate: the count of a two-state Markov chain has variance n pi (1 - pi) (1 + l) / (1 - l),
    // with l = 1 - p - r the chain's second eigenvalue.
    const pi = p / (p + r);
    const lambda = 1 - p - r;
    const sd = Math.sqrt((n * pi * (1 - pi) * (1 + lambda)) / (1 - lambda));
    expect(Math.abs(s.dropped - n * pi)).toBeLessThanOrEqual(5 * sd);
  });
});

describe("impair: duplication and reordering", () => {
  it("duplicates at the configured rate; each duplicate arrives exactly twice", () => {
    const n = 100_000;
    const l = blast({ seed: 5, duplicate: 0.05 }, n);
    const s = l.tx.stats.send;
    expectBinomial(s.duplicated, n, 0.05);
    expect(l.arrivals.length).toBe(n + s.duplicated);
    const count = new Uint8Array(n);
    for (const a of l.arrivals) count[a.seq]!++;
    expect(count.filter((c) => c === 2).length).toBe(s.duplicated);
    expect(count.every((c) => c === 1 || c === 2)).toBe(true);
  });

  it("holds a reordered datagram back until exactly reorderPackets later ones have gone past", () => {
    const n = 20_000;
    const k = 3;
    const l = blast(
      { seed: 21, reorder: 0.1, reorderPackets: k, reorderDelayMs: Number.POSITIVE_INFINITY },
      n,
    );
    const s = l.tx.stats.send;
    expectBinomial(s.reordered, n, 0.1);
    // A datagram is late when one sent after it arrived before it. Without delay, exactly the held
    // ones are late, and each waited for exactly k datagrams that were not held.
    const order = l.arrivals.map((a) => a.seq);
    const late = new Set<number>();
    let highest = -1;
    for (const seq of order) {
      if (seq < highest) late.add(seq);
      else highest = seq;
    }
    expect(late.size).toBe(s.reordered - l.tx.held);
    order.forEach((seq, position) => {
      if (!late.has(seq)) return;
      let passed = 0;
      for (let j = 0; j < position; j++) {
        const other = order[j]!;
        if (other > seq && !late.has(other)) passed++;
      }
      expect(passed, `datagram ${seq}`).toBe(k);
    });
    // Held at the end: fewer than k datagrams came after them.
    expect(l.arrivals.length + l.tx.held).toBe(n);
  });

  it("holds a reordered datagram back for reorderDelayMs when counting is off", () => {
    const l = link({ seed: 4, reorder: 0.2, reorderPackets: Number.POSITIVE_INFINITY, reorderDelayMs: 5 });
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      sentAt.set(i, l.net.nowMs);
      l.tx.send(seqBytes(i), RECEIVER, PORT);
      l.net.advanceBy(1);
    }
    l.net.runUntilIdle();
    const waits = l.arrivals.map((a) => a.atMs - sentAt.get(a.seq)!);
    expect(waits.every((w) => w === 0 || w === 5)).toBe(true);
    expect(waits.filter((w) => w === 5).length).toBe(l.tx.stats.send.reordered);
    expectBinomial(l.tx.stats.send.reordered, 1000, 0.2);
    expect(l.arrivals.length).toBe(1000);
  });
});

describe("impair: delay", () => {
  it("fixed delay plus uniform jitter: arrival times follow U[delay, delay + jitter) (DKW bound)", () => {
    const n = 20_000;
    const l = blast({ seed: 8, delayMs: 10, jitterMs: 20 }, n);
    const times = l.arrivals.map((a) => a.atMs).sort((a, b) => a - b);
    expect(times.length).toBe(n);
    expect(times[0]!).toBeGreaterThanOrEqual(10);
    expect(times[n - 1]!).toBeLessThan(30);
    const eps = dkwEpsilon(n);
    for (const x of [11, 12.5, 15, 20, 25, 29]) {
      expect(Math.abs(empiricalCdf(times, x) - (x - 10) / 20), `F(${x})`).toBeLessThanOrEqual(eps);
    }
    expect(l.tx.stats.send.delayed).toBe(n);
    // Jitter reorders on its own; the reorder stage was not involved.
    expect(l.tx.stats.send.reordered).toBe(0);
  });

  it("keepOrder: jitter without reordering, each datagram leaving at max(its own delay, the previous one's)", () => {
    // Datagram i is sent at i ms; 8 ms of jitter reorders them when delays are independent.
    const spaced = (keepOrder: boolean) => {
      const n = 2000;
      const l = link({ maxHeld: n, seed: 9, jitterMs: 8, keepOrder });
      for (let i = 0; i < n; i++) l.net.schedule(() => l.tx.send(seqBytes(i), RECEIVER, PORT), i);
      l.net.runUntilIdle();
      return l.arrivals;
    };
    const free = spaced(false);
    const fifo = spaced(true);
    expect(free.length).toBe(2000);
    expect(fifo.length).toBe(2000);
    // The same draws: datagram i's own arrival time is what it gets with independent delays.
    const own = new Map(free.map((a) => [a.seq, a.atMs]));
    expect(free.some((a, k) => k > 0 && a.seq < free[k - 1]!.seq)).toBe(true);
    let previous = 0;
    fifo.forEach((a, k) => {
      expect(a.seq).toBe(k);
      const expected = Math.max(own.get(k)!, previous);
      expect(a.atMs).toBeCloseTo(expected, 9);
      previous = expected;
    });
  });

  it("heavy tail: Pareto(x_m, alpha) quantiles, capped, on the virtual clock", () => {
    const n = 20_000;
    const xm = 5;
    const alpha = 1.5;
    const cap = 200;
    const l = blast({ seed: 9, tailProbability: 1, tailScaleMs: xm, tailShape: alpha, tailCapMs: cap }, n);
    const times = l.arrivals.map((a) => a.atMs).sort((a, b) => a - b);
    expect(times[0]!).toBeGreaterThanOrEqual(xm);
    expect(times[n - 1]!).toBe(cap);
    const eps = dkwEpsilon(n);
    for (const x of [6, 8, 10, 20, 50, 100, 199]) {
      const cdf = 1 - (xm / x) ** alpha;
      expect(Math.abs(empiricalCdf(times, x) - cdf), `F(${x})`).toBeLessThanOrEqual(eps);
    }
    // The cap collects the whole tail beyond it: P(X >= cap) = (x_m / cap)^alpha.
    expectBinomial(times.filter((t) => t === cap).length, n, (xm / cap) ** alpha);
  });

  it("heavy tail applies to tailProbability of the datagrams only", () => {
    const n = 20_000;
    const l = blast({ seed: 10, tailProbability: 0.1 }, n);
    const stalled = l.arrivals.filter((a) => a.atMs > 0).length;
    expectBinomial(stalled, n, 0.1);
    expect(l.tx.stats.send.delayed).toBe(stalled);
  });

  it("holds at most maxHeld datagrams and counts the rest as overflowed", () => {
    const l = link({ seed: 1, delayMs: 10, maxHeld: 50 });
    for (let i = 0; i < 100; i++) l.tx.send(seqBytes(i), RECEIVER, PORT);
    expect(l.tx.held).toBe(50);
    l.net.runUntilIdle();
    expect(l.tx.held).toBe(0);
    expect(l.arrivals.map((a) => a.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(l.tx.stats.send.overflowed).toBe(50);
    expect(l.tx.stats.send.delayed).toBe(50);
  });

  it("copies held datagrams: the sender may reuse its buffer at once", () => {
    const l = link({ seed: 1, delayMs: 3, duplicate: 1, reorder: 0.5 });
    const buf = new Uint8Array(4);
    for (let i = 0; i < 100; i++) {
      new DataView(buf.buffer).setUint32(0, i, true);
      l.tx.send(buf, RECEIVER, PORT);
    }
    l.net.runUntilIdle();
    const seqs = l.arrivals.map((a) => a.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i >> 1));
  });
});

describe("impair: receive direction, settings, errors, close", () => {
  it("impairs what arrives, leaving what is sent alone", () => {
    const net = new MemoryNetwork();
    const peer = net.createTransport(SENDER, 5000);
    const inner = net.createTransport(RECEIVER, PORT);
    const rx = impair(inner, {
      schedule: net.schedule,
      direction: "receive",
      seed: 2,
      loss: 0.5,
      delayMs: 4,
    });
    const got: Arrival[] = [];
    rx.onDatagram((d, address, port) => {
      expect([address, port]).toEqual([SENDER, 5000]);
      got.push({ seq: readSeq(d), atMs: net.nowMs });
    });
    for (let i = 0; i < 1000; i++) peer.send(seqBytes(i), RECEIVER, PORT);
    net.runUntilIdle();
    expect(got.length).toBe(1000 - rx.stats.receive.dropped);
    expectBinomial(rx.stats.receive.dropped, 1000, 0.5);
    expect(got.every((a) => a.atMs === 4)).toBe(true);
    expect(rx.stats.send.sent).toBe(0);
    const back: number[] = [];
    peer.onDatagram((d) => back.push(readSeq(d)));
    for (let i = 0; i < 100; i++) rx.send(seqBytes(i), SENDER, 5000);
    net.runUntilIdle();
    expect(back.length).toBe(100);
  });

  it("configure changes the settings from the next datagram on (cut the link, restore it)", () => {
    const l = link({ seed: 1 });
    l.tx.send(seqBytes(0), RECEIVER, PORT);
    l.tx.configure({ loss: 1 });
    for (let i = 1; i < 10; i++) l.tx.send(seqBytes(i), RECEIVER, PORT);
    l.tx.configure({ loss: 0 });
    l.tx.send(seqBytes(10), RECEIVER, PORT);
    l.net.runUntilIdle();
    expect(l.arrivals.map((a) => a.seq)).toEqual([0, 10]);
    expect(l.tx.stats.send.dropped).toBe(9);
    expect(l.tx.settings.loss).toBe(0);
    expect(() => l.tx.configure({ duplicate: 2 })).toThrow(/"duplicate"/);
  });

  it("refuses bad options, naming them", () => {
    const net = new MemoryNetwork();
    const t = net.createTransport(SENDER, 5000);
    expect(() => impair(t, { loss: -0.1 })).toThrow(/"loss"/);
    expect(() => impair(t, { jitterMs: Number.NaN })).toThrow(/"jitterMs"/);
    expect(() => impair(t, { reorderPackets: 0 })).toThrow(/"reorderPackets"/);
    expect(() =>
      impair(t, { reorderPackets: Number.POSITIVE_INFINITY, reorderDelayMs: Number.POSITIVE_INFINITY }),
    ).toThrow(/cannot both be Infinity/);
    expect(() => impair(t, { maxHeld: 1.5 })).toThrow(/"maxHeld"/);
  });

  it("passes the wrapped transport's errors on", () => {
    const net = new MemoryNetwork({ maxDatagramBytes: 8 });
    const t = impair(net.createTransport(SENDER, 5000), { schedule: net.schedule });
    const errors: TransportError[] = [];
    t.onError((e) => errors.push(e));
    t.send(new Uint8Array(9), RECEIVER, PORT);
    expect(errors.map((e) => e.code)).toEqual(["EMSGSIZE"]);
    expect(t.localAddress).toBe(SENDER);
    expect(t.localPort).toBe(5000);
  });

  it("close drops what it holds and, by default, closes the wrapped transport", () => {
    const l = link({ seed: 1, delayMs: 5 });
    l.tx.send(seqBytes(1), RECEIVER, PORT);
    l.tx.close();
    l.tx.close();
    l.net.runUntilIdle();
    expect(l.arrivals).toEqual([]);
    expect((l.inner as MemoryTransport).isClosed).toBe(true);
  });

  it("with closeInner: false, the wrapped transport still works after close", () => {
    const l = link({ seed: 1, delayMs: 5, direction: "both", closeInner: false });
    const wrapperSaw: number[] = [];
    l.tx.onDatagram((d) => wrapperSaw.push(readSeq(d)));
    l.tx.send(seqBytes(1), RECEIVER, PORT); // held for 5 ms
    l.rx.send(seqBytes(2), SENDER, 5000); // will be held on receive
    l.net.advanceBy(1);
    expect(l.tx.held).toBe(2);
    l.tx.close();
    l.tx.send(seqBytes(3), RECEIVER, PORT); // closed: nothing
    l.net.runUntilIdle();
    expect(l.arrivals).toEqual([]);
    expect(wrapperSaw).toEqual([]);

    // The wrapped transport: still bound, sends, and takes a new handler.
    expect(l.inner.isClosed).toBe(false);
    const innerSaw: number[] = [];
    l.inner.onDatagram((d) => innerSaw.push(readSeq(d)));
    l.inner.send(seqBytes(4), RECEIVER, PORT);
    l.rx.send(seqBytes(5), SENDER, 5000);
    l.net.runUntilIdle();
    expect(l.arrivals.map((a) => a.seq)).toEqual([4]);
    expect(innerSaw).toEqual([5]);
  });
});
