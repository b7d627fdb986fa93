/**
 * A small benchmark harness: each case runs in rounds of a fixed duration after a warm-up, and
 * the median round's rate is reported. Figures are printed next to a baseline measured in the
 * same run; nothing here is ever asserted in the test suite.
 */
import { performance } from "node:perf_hooks";

export interface BenchResult {
  name: string;
  /** Operations per second, the median of the rounds. */
  opsPerSec: number;
}

/** Keeps results alive so that the optimiser cannot drop the work. */
export let sink = 0;
export function consume(x: number): void {
  sink = (sink + x) | 0;
}

/** Runs `fn` (which does `batch` operations per call) for `rounds` rounds of `roundMs` each. */
export function measure(name: string, fn: () => void, batch = 1, rounds = 5, roundMs = 200): BenchResult {
  const warmEnd = performance.now() + roundMs;
  while (performance.now() < warmEnd) fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    const end = start + roundMs;
    while (now < end) {
      fn();
      calls++;
      if ((calls & 15) === 0) now = performance.now();
    }
    now = performance.now();
    rates.push((calls * batch * 1000) / (now - start));
  }
  rates.sort((a, b) => a - b);
  return { name, opsPerSec: rates[Math.floor(rates.length / 2)] ?? 0 };
}

/** Formats a rate with thousands separators. */
export function fmtRate(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Prints a table: name, ops/s, ratio to the baseline row. */
export function printTable(title: string, rows: BenchResult[], baseline: BenchResult): void {
  const w = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`\n${title}`);
  console.log(`${"case".padEnd(w)}  ${"ops/s".padStart(14)}  ${"x baseline".padStart(10)}`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${fmtRate(r.opsPerSec).padStart(14)}  ${(r.opsPerSec / baseline.opsPerSec).toFixed(2).padStart(10)}`,
    );
  }
}

/** Round trips through an echoing peer (a board in loopback, or a bare echo). */
export interface PingResult {
  name: string;
  window: number;
  /** Round trips completed per second. */
  packetsPerSec: number;
  /** Round-trip time percentiles (ms). */
  p50: number;
  p99: number;
  samples: number;
}

/** The value below which a fraction `p` of the sorted samples lie (NaN without samples). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/**
 * Keeps `window` packets in flight for `runMs` through `send(seq)`; the caller hands the
 * function given to `setOnReturn` each sequence number that comes back. A packet not back within
 * `giveUpMs` is given up and replaced, so a loss cannot stall the window.
 */
export async function pingLoop(
  name: string,
  window: number,
  runMs: number,
  giveUpMs: number,
  send: (seq: number) => void,
  setOnReturn: (f: (seq: number) => void) => void,
): Promise<PingResult> {
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let seq = 0;
  let running = true;
  const fire = (): void => {
    const s = seq++;
    sentAt.set(s, performance.now());
    send(s);
  };
  setOnReturn((s) => {
    const t = sentAt.get(s);
    if (t === undefined) return;
    sentAt.delete(s);
    rtts.push(performance.now() - t);
    if (running) fire();
  });
  const start = performance.now();
  for (let i = 0; i < window; i++) fire();
  while (performance.now() < start + runMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = performance.now();
    for (const [s, t] of sentAt) {
      if (now - t > giveUpMs) {
        sentAt.delete(s);
        if (running) fire();
      }
    }
  }
  running = false;
  const secs = (performance.now() - start) / 1000;
  rtts.sort((a, b) => a - b);
  return {
    name,
    window,
    packetsPerSec: rtts.length / secs,
    p50: percentile(rtts, 0.5),
    p99: percentile(rtts, 0.99),
    samples: rtts.length,
  };
}
