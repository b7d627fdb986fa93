/**
 * The one table `make bench` ends with: each headline figure next to its baseline from the same
 * run (the tables above it give the details). Rows whose part was not run (BENCH=...) are left out.
 */
import type { EmulatorBenchResult } from "./emulator.js";
import type { EspruinoBenchResult } from "./espruino.js";
import { type BenchResult, fmtRate } from "./harness.js";

interface Row {
  figure: string;
  ours: string;
  baseline: string;
  ratio: string;
}

function find(rows: readonly BenchResult[] | undefined, name: string): BenchResult | undefined {
  return rows?.find((r) => r.name === name);
}

const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : "-");

/** Prints the summary table of whatever parts ran. */
export function printSummary(parts: {
  codec?: readonly BenchResult[];
  engine?: readonly BenchResult[];
  emulator?: EmulatorBenchResult;
  espruino?: EspruinoBenchResult;
}): void {
  const rows: Row[] = [];
  const pairs: [string, string, string][] = [
    [
      "audio header encode+decode, postcard (ops/s)",
      "audio header: postcard",
      "audio header: @msgpack/msgpack (baseline)",
    ],
    [
      "audio header encode+decode, msgpack ours (ops/s)",
      "audio header: msgpack (ours, compact)",
      "audio header: @msgpack/msgpack (baseline)",
    ],
    [
      "Connect 3 formats, postcard (ops/s)",
      "connect 3 formats: postcard",
      "connect 3 formats: @msgpack/msgpack (baseline)",
    ],
    [
      "Connect 3 formats, msgpack ours (ops/s)",
      "connect 3 formats: msgpack (ours, compact)",
      "connect 3 formats: @msgpack/msgpack (baseline)",
    ],
  ];
  for (const [figure, a, b] of pairs) {
    const x = find(parts.codec, a);
    const y = find(parts.codec, b);
    if (x && y)
      rows.push({
        figure,
        ours: fmtRate(x.opsPerSec),
        baseline: `${fmtRate(y.opsPerSec)} (@msgpack/msgpack)`,
        ratio: ratio(x.opsPerSec, y.opsPerSec),
      });
  }
  const base = parts.engine?.[0];
  for (const name of ["server->client 256 B, StreamReceiver", "client->server 256 B, index check"]) {
    const x = find(parts.engine, name);
    if (x && base)
      rows.push({
        figure: `engine msgs/s, ${name}`,
        ours: fmtRate(x.opsPerSec),
        baseline: `${fmtRate(base.opsPerSec)} (codec alone)`,
        ratio: ratio(x.opsPerSec, base.opsPerSec),
      });
  }
  const pings = parts.emulator?.pings ?? [];
  for (const w of [1, 4]) {
    const echo = pings.find((p) => p.window === w && p.name.startsWith("raw"));
    const board = pings.find((p) => p.window === w && !p.name.startsWith("raw"));
    if (!echo || !board) continue;
    rows.push({
      figure: `loopback packets/s through an emulated board, window ${w}`,
      ours: fmtRate(board.packetsPerSec),
      baseline: `${fmtRate(echo.packetsPerSec)} (raw node:dgram echo)`,
      ratio: ratio(board.packetsPerSec, echo.packetsPerSec),
    });
    rows.push({
      figure: `round trip p50 / p99 (ms), window ${w}`,
      ours: `${board.p50.toFixed(3)} / ${board.p99.toFixed(3)}`,
      baseline: `${echo.p50.toFixed(3)} / ${echo.p99.toFixed(3)} (raw echo)`,
      ratio: ratio(board.p50, echo.p50),
    });
  }
  for (const s of parts.emulator?.scaling ?? []) {
    const capped = s.firstFailing === undefined;
    rows.push({
      figure: `emulated boards per process, ${s.name} format (${s.packetsPerSecPerBoard} packets/s each)`,
      ours: `${capped ? ">= " : ""}${s.maxBoards}`,
      baseline: capped ? "(the cap held)" : `${s.firstFailing} failed`,
      ratio: "-",
    });
  }
  const real = parts.espruino?.pings ?? [];
  for (const w of [1, 4]) {
    const echo = real.find((p) => p.window === w && p.name.startsWith("bare"));
    const board = real.find((p) => p.window === w && !p.name.startsWith("bare"));
    if (!echo || !board) continue;
    rows.push({
      figure: `real interpreter: loopback round trips/s, window ${w}`,
      ours: fmtRate(board.packetsPerSec),
      baseline: `${fmtRate(echo.packetsPerSec)} (bare Espruino echo)`,
      ratio: ratio(board.packetsPerSec, echo.packetsPerSec),
    });
  }
  for (const r of parts.espruino?.patterns ?? []) {
    rows.push({
      figure: `real interpreter: pattern board ${r.name}, on time / skipped`,
      ours: `${r.onTimePercent.toFixed(1)} % / ${r.skippedPercent.toFixed(1)} %`,
      baseline: `blocks ${r.idleBlocks} idle, ${r.streamingBlocks} streaming`,
      ratio: "-",
    });
  }
  for (const m of parts.espruino?.memory ?? []) {
    rows.push({
      figure: `real interpreter: blocks in use, default configuration, code in ${m.mode}, one client streaming`,
      ours: String(m.streamingBlocks),
      baseline: `${m.idleBlocks} idle; target ${m.mode === "RAM" ? "2,000" : "1,200"}`,
      ratio: "-",
    });
  }
  if (rows.length === 0) return;
  const w = [
    Math.max(6, ...rows.map((r) => r.figure.length)),
    Math.max(4, ...rows.map((r) => r.ours.length)),
    Math.max(8, ...rows.map((r) => r.baseline.length)),
  ];
  console.log(
    "\nsummary: each figure against its baseline from this run (details above, limits in BENCHMARKS.md)",
  );
  console.log(
    `${"figure".padEnd(w[0] ?? 0)}  ${"ours".padStart(w[1] ?? 0)}  ${"baseline".padEnd(w[2] ?? 0)}  ratio`,
  );
  for (const r of rows) {
    console.log(
      `${r.figure.padEnd(w[0] ?? 0)}  ${r.ours.padStart(w[1] ?? 0)}  ${r.baseline.padEnd(w[2] ?? 0)}  ${r.ratio}`,
    );
  }
}
