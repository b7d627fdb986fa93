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
