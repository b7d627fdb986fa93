/**
 * `make demo`: one emulated board running the real firmware (build/firmware/syfala.js) on the
 * loopback LAN, found by discovery on 127.255.255.255, then a session of a few seconds with audio
 * both ways: a 997 Hz tone sent on output 0 comes back on input 0 (the board's loopback) and is
 * checked byte for byte at equal indices; input 1 is the board's test pattern, recorded. Prints a
 * readable report and exits non-zero if anything failed.
 *
 * Runs on UDP port 46910 (the tests use 48000-48999), nothing leaves 127.0.0.0/8.
 */

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describeFormats, ms } from "../host/client/describe.js";
import { discover } from "../host/client/discover.js";
import { reportLines } from "../host/client/report.js";
import { runSession } from "../host/client/session.js";
import { type LogEntry, routeUnhandledRejections, startBoards } from "../host/emulator/index.js";

const PORT = 46910;
const BROADCAST = "127.255.255.255";
const FIRMWARE = "build/firmware/syfala.js";
const OUT_DIR = "build/demo";
const SECONDS = 4;

function say(line = ""): void {
  process.stdout.write(line + "\n");
}

/** Prints the board's console lines gathered so far, and forgets them. */
function flushLogs(logs: LogEntry[]): void {
  for (const e of logs.splice(0)) say(`   [${e.address}] ${e.text}`);
}

async function main(): Promise<number> {
  if (!existsSync(FIRMWARE)) {
    process.stderr.write(`demo: ${FIRMWARE} is missing (run 'make firmware')\n`);
    return 1;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const unroute = routeUnhandledRejections();
  const logs: LogEntry[] = [];
  say(`== starting one emulated board with ${FIRMWARE}`);
  const lan = await startBoards({
    count: 1,
    firmwarePath: FIRMWARE,
    port: PORT,
    config: {
      wifi: { ssid: "demo-lan", password: "syfala" },
      statusEveryMs: 0,
      inputs: [{ source: "loopback" }, { source: "pattern" }],
      outputs: [{ sink: "loopback" }],
    },
    wifiTiming: { connectDelayMs: 10, retryMs: 20 },
    onLog: (e) => logs.push(e),
  });
  try {
    const board = lan.boards[0];
    if (board === undefined) throw new Error("no board");
    for (let i = 0; i < 500 && !board.online; i++) await new Promise((r) => setTimeout(r, 10));
    flushLogs(logs);

    say();
    say(`== syfala discover --broadcast ${BROADCAST} --port ${PORT} --timeout 1s`);
    const servers = await discover({ targets: [{ address: BROADCAST, port: PORT }], timeoutMs: 1000 });
    for (const s of servers) {
      say(`   ${s.address}:${s.port}`);
      for (const l of describeFormats(s.formats)) say(`      ${l}`);
    }
    flushLogs(logs);
    const found = servers.find((s) => s.address === board.address);
    if (found === undefined) {
      process.stderr.write(`demo: the board at ${board.address}:${PORT} did not answer discovery\n`);
      return 1;
    }

    say();
    const rec = join(OUT_DIR, "demo.wav");
    say(
      `== syfala session ${found.address}:${PORT} --duration ${SECONDS}s --tone 997 --check-loopback --record ${rec}`,
    );
    const r = await runSession(
      {
        address: found.address,
        port: found.port,
        source: { kind: "tone", hz: 997, amplitude: 0.5 },
        checkLoopback: true,
        record: rec,
      },
      {
        durationMs: SECONDS * 1000,
        statusEveryMs: 1000,
        onStatus: (s) =>
          say(
            `   ${s.seconds.toFixed(1)} s: ${s.inputs.map((i, k) => `in${k} ${i.packetsPerSecond.toFixed(0)} pkt/s`).join(", ")}, rtt ${ms(s.rttMs)} ms`,
          ),
      },
    );
    for (const l of reportLines(r.report, true)) say(`   ${l}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    flushLogs(logs);

    say();
    const st = board.stats();
    const mem = st.memory;
    say(`== board ${board.address}:${PORT}`);
    say(
      `   memory after the session (the emulator's estimate for an ESP32, code in RAM; within 15 % of the real interpreter's count on its Linux build): ${mem.usage} of ` +
        `${mem.total} JsVar blocks used (${((100 * mem.usage) / mem.total).toFixed(0)} %), ${mem.free} free`,
    );
    say(
      `   datagrams: ${st.datagrams.received} received, ${st.datagrams.sent} sent, ` +
        `${st.datagrams.droppedQueueFull} dropped (receive queue full)`,
    );

    say();
    if (r.failure !== undefined) {
      say(`RESULT: FAILED: ${r.failure.message}`);
      return 1;
    }
    if (r.loopbackProblems.length > 0) {
      say(`RESULT: FAILED: loopback check: ${r.loopbackProblems.join("; ")}`);
      return 1;
    }
    const v = r.report.loopback[0];
    say(
      `RESULT: ok: loopback verified (${v?.compared ?? 0} bytes compared, all equal), ` +
        `${r.report.inputs.map((i) => `in ${i.stream} lost ${i.lostPercent.toFixed(2)} %`).join(", ")}`,
    );
    return 0;
  } finally {
    await lan.stop();
    unroute();
  }
}

process.exitCode = await main();
