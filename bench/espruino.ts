/**
 * The firmware on the REAL Espruino interpreter (ESPRUINO_BIN, the Linux build of 2v29), measured
 * in the same run as its baselines:
 *
 * - loopback round trips: build/firmware/syfala.min.js as a loopback board (16 kHz mono I16,
 *   256-frame packets: 529-byte datagrams), the project's client engine keeping 1 or 4 packets
 *   in flight for RUN_MS, against a bare Espruino echo script (`s.send(m, r.port, r.address)` in
 *   its 'message' handler) with the same datagram size and window. Both run directly as files
 *   (code in RAM: the Linux build reads "flash" through file I/O, ESPRUINO.md), without --telnet.
 * - pattern boards: a board whose input 0 is the test pattern, at 16 kHz mono I16 / 256 frames,
 *   48 kHz stereo I16 / 256 frames and 48 kHz stereo I16 / 64 frames, streamed for STREAM_MS:
 *   packets due in the window that arrived on time (within ON_TIME_MS of their last frame being
 *   due, the default playout latency), late, and skipped by the board (never arrived: on loopback
 *   nothing else loses them), and JsVar blocks in use (`process.memory().usage` over --telnet)
 *   idle and at the end of the stream.
 * - the per-step costs of bench/espruino/steps.ts (getTime() around each step, on the interpreter).
 *
 * Every interpreter busy-polls a core while it has a socket open: one runs at a time. Without
 * ESPRUINO_BIN this part prints one line and is skipped.
 */
import dgram from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EspruinoInterpreter } from "../host/espruino/interpreter.js";
import { buildFirmware } from "../scripts/build-firmware.js";
import type { Format } from "../shared/format.js";
import { frameSize } from "../shared/format.js";
import { type U64, u64ToNumber } from "../shared/u64.js";
import { postcard } from "../shared/wire/postcard.js";
import { type EngineDriver, startDriver } from "../test/support/engine-driver.js";
import { type PingResult, pingLoop } from "./harness.js";

const ROOT = new URL("..", import.meta.url).pathname;
const FIRMWARE = join(ROOT, "build/firmware/syfala.min.js");
const RUN_MS = 3000;
const STREAM_MS = 4000;
/** A packet is on time when it arrives within this long after its last frame is due (ms). */
const ON_TIME_MS = 20;
const BOARD_PORT = 47810;
const ECHO_PORT = 47811;
const LOOP: Format = { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" };
const PATTERNS: { name: string; format: Format }[] = [
  { name: "16 kHz mono I16, 256 frames", format: LOOP },
  {
    name: "48 kHz stereo I16, 256 frames",
    format: { sampleRate: 48000, channelCount: 2, bufferSize: 256, sampleType: "I16" },
  },
  {
    name: "48 kHz stereo I16, 64 frames",
    format: { sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I16" },
  },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface PatternRow {
  name: string;
  packetsPerSec: number;
  due: number;
  onTimePercent: number;
  latePercent: number;
  skippedPercent: number;
  idleBlocks: number;
  streamingBlocks: number;
}

/** Blocks in use at the default configuration (only the port set), code in RAM or in flash. */
export interface MemoryRow {
  mode: "RAM" | "flash";
  idleBlocks: number;
  streamingBlocks: number;
}

export interface EspruinoBenchResult {
  pings: PingResult[];
  patterns: PatternRow[];
  memory: MemoryRow[];
  steps: Record<string, number>;
}

async function echo(bin: string, window: number): Promise<PingResult> {
  const dir = mkdtempSync(join(tmpdir(), "syfala-bench-echo-"));
  const file = join(dir, "echo.js");
  writeFileSync(
    file,
    'var s=require("dgram").createSocket({type:"udp4",reuseAddr:true,recvBufferSize:1480});' +
      `s.on("message",function(m,r){s.send(m,r.port,r.address);});s.bind(${ECHO_PORT});console.log("echo ready");`,
  );
  const it = await EspruinoInterpreter.start({ bin, program: file, dir });
  const sock = dgram.createSocket("udp4");
  try {
    await it.waitForLine(/echo ready/, 0, 10000);
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    return await pingLoop(
      "bare Espruino echo",
      window,
      RUN_MS,
      200,
      (seq) => {
        const b = Buffer.alloc(17 + 512);
        b.writeUInt32LE(seq, 0);
        sock.send(b, ECHO_PORT, "127.0.0.1");
      },
      (f) => sock.on("message", (m: Buffer) => f(m.readUInt32LE(0))),
    );
  } finally {
    sock.close();
    await it.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A client engine connected to the board at 127.0.0.1:BOARD_PORT with IO started. */
async function connected(): Promise<{ d: EngineDriver; peer: string; startedAt: number }> {
  const d = await startDriver(
    { address: "127.0.0.1", port: 0 },
    { codecs: { postcard }, targets: [{ address: "127.0.0.1", port: BOARD_PORT }] },
  );
  d.act((e, now) => e.startDiscovery(now));
  await d.until(() => d.engine.peerKeys().length > 0, 10000, "connected");
  const peer = d.engine.peerKeys()[0] as string;
  d.act((e) => e.stopDiscovery());
  d.act((e, now) => e.startIO(peer, now));
  await d.until(() => d.engine.ioPhase(peer) === "started", 10000, "IO started");
  return { d, peer, startedAt: d.now() };
}

async function loopBoard(bin: string, window: number): Promise<PingResult> {
  const config = {
    port: BOARD_PORT,
    statusEveryMs: 0,
    inputs: [{ ...LOOP, source: "loopback" }],
    outputs: [{ ...LOOP, sink: "loopback" }],
  };
  const it = await EspruinoInterpreter.start({ bin, program: FIRMWARE, config });
  let d: EngineDriver | undefined;
  try {
    await it.waitForLine(/^syfala .* port /, 0, 10000);
    const c = await connected();
    d = c.d;
    const driver = c.d;
    const payload = new Uint8Array(512).fill(0x5a);
    const idx: U64 = { hi: 0, lo: 0 };
    return await pingLoop(
      "firmware, loopback board",
      window,
      RUN_MS,
      200,
      (seq) => {
        const at = seq * 512;
        idx.hi = Math.floor(at / 4294967296);
        idx.lo = at >>> 0;
        driver.sendAudio(c.peer, 0, idx, payload);
      },
      (f) => {
        driver.onAudio = (e) => {
          if (e.streamIdx === 0) f(u64ToNumber(e.byteIdx) / 512);
        };
      },
    );
  } finally {
    d?.close();
    await it.stop();
  }
}

async function patternBoard(bin: string, name: string, format: Format): Promise<PatternRow> {
  const config = {
    port: BOARD_PORT,
    statusEveryMs: 0,
    inputs: [{ ...format, source: "pattern" }],
    outputs: [{ ...LOOP, sink: "discard" }],
  };
  const it = await EspruinoInterpreter.start({ bin, program: FIRMWARE, config, telnet: true });
  let d: EngineDriver | undefined;
  try {
    await it.waitForLine(/^syfala .* port /, 0, 10000);
    const idle = await it.health();
    const c = await connected();
    d = c.d;
    const packetBytes = format.bufferSize * frameSize(format);
    const packetMs = (1000 * format.bufferSize) / format.sampleRate;
    const bytesPerMs = (format.sampleRate * frameSize(format)) / 1000;
    const arrivals = new Map<number, number>();
    c.d.onAudio = (e) => {
      if (e.streamIdx !== 0) return;
      const k = Math.floor(u64ToNumber(e.byteIdx) / packetBytes);
      if (!arrivals.has(k)) arrivals.set(k, c.d.now());
    };
    // Warm-up: the first 500 ms are not counted; then STREAM_MS of packets whose last frame is due in the window.
    const windowStart = c.startedAt + 500;
    const windowEnd = windowStart + STREAM_MS;
    while (c.d.now() < windowEnd + 200) await sleep(50);
    const streaming = await it.health();
    let due = 0;
    let onTime = 0;
    let late = 0;
    for (let k = 0; ; k++) {
      const dueAt = c.startedAt + ((k + 1) * packetBytes) / bytesPerMs;
      if (dueAt <= windowStart) continue;
      if (dueAt > windowEnd) break;
      due++;
      const at = arrivals.get(k);
      if (at === undefined) continue;
      if (at - dueAt <= ON_TIME_MS) onTime++;
      else late++;
    }
    const skipped = due - onTime - late;
    return {
      name,
      packetsPerSec: 1000 / packetMs,
      due,
      onTimePercent: (100 * onTime) / Math.max(1, due),
      latePercent: (100 * late) / Math.max(1, due),
      skippedPercent: (100 * skipped) / Math.max(1, due),
      idleBlocks: idle.usage,
      streamingBlocks: streaming.usage,
    };
  } finally {
    d?.close();
    await it.stop();
  }
}

/**
 * The firmware at its default configuration (a 440 Hz tone in, a discarding output; only the
 * port set), idle and 1.5 s into one client's stream: run as a file (its text in RAM), or
 * booted from `.bootcde` in Storage, as `syfala flash` / SAVE_ON_SEND=1 leave it (code in flash).
 */
async function memoryAtDefault(bin: string, mode: "RAM" | "flash"): Promise<MemoryRow> {
  const config = { port: BOARD_PORT };
  const it = await EspruinoInterpreter.start(
    mode === "RAM"
      ? { bin, program: FIRMWARE, config, telnet: true }
      : { bin, files: { ".bootcde": readFileSync(FIRMWARE, "latin1") }, config, telnet: true },
  );
  let d: EngineDriver | undefined;
  try {
    await it.waitForLine(/syfala .* port /, 0, 20000);
    const idle = await it.health();
    const c = await connected();
    d = c.d;
    await sleep(1500);
    const streaming = await it.health();
    return { mode, idleBlocks: idle.usage, streamingBlocks: streaming.usage };
  } finally {
    d?.close();
    await it.stop();
  }
}

async function steps(bin: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), "syfala-bench-steps-"));
  try {
    const r = await buildFirmware({ entry: "bench/espruino/steps.ts", outDir: dir, budgetBytes: 1 << 20 });
    const run = join(dir, "run");
    mkdirSync(run);
    const it = await EspruinoInterpreter.start({ bin, program: r.files.minified, dir: run });
    try {
      const line = await it.waitForLine(/^steps /, 0, 60000);
      return JSON.parse(line.slice("steps ".length)) as Record<string, number>;
    } finally {
      await it.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : "-");
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "-");

/** Runs the real-interpreter part; undefined (one line printed) without ESPRUINO_BIN. */
export async function benchEspruino(): Promise<EspruinoBenchResult | undefined> {
  const bin = process.env.ESPRUINO_BIN;
  if (bin === undefined || bin === "") {
    console.log(
      "\nreal interpreter: skipped (set ESPRUINO_BIN to an Espruino 2v29 Linux build; README, 'The real interpreter')",
    );
    return undefined;
  }
  if (!existsSync(FIRMWARE)) throw new Error(`${FIRMWARE} is missing: run 'make firmware' first`);
  const pings: PingResult[] = [];
  for (const w of [1, 4]) {
    pings.push(await echo(bin, w));
    pings.push(await loopBoard(bin, w));
  }
  console.log(
    `\nreal interpreter (${bin}): loopback round trips of 529-byte datagrams, ${RUN_MS / 1000} s each`,
  );
  console.log(
    `${"case".padEnd(26)} window  ${"round trips/s".padStart(13)}  ${"p50 ms".padStart(7)}  ${"p99 ms".padStart(7)}  x echo`,
  );
  for (let i = 0; i < pings.length; i++) {
    const p = pings[i] as PingResult;
    const base = pings[i - (i % 2)] as PingResult;
    console.log(
      `${p.name.padEnd(26)} ${String(p.window).padStart(6)}  ${Math.round(p.packetsPerSec).toLocaleString("en-US").padStart(13)}  ${f2(p.p50).padStart(7)}  ${f2(p.p99).padStart(7)}  ${(p.packetsPerSec / base.packetsPerSec).toFixed(2)}`,
    );
  }
  const patterns: PatternRow[] = [];
  for (const p of PATTERNS) patterns.push(await patternBoard(bin, p.name, p.format));
  console.log(
    `\nreal interpreter: a pattern board for ${STREAM_MS / 1000} s (after 0.5 s): packets due in the window, on time (<= ${ON_TIME_MS} ms after due), late, skipped by the board; JsVar blocks in use (code in RAM)`,
  );
  console.log(
    `${"input".padEnd(30)} pkt/s  ${"due".padStart(5)}  on time  late  skipped  blocks idle / streaming`,
  );
  for (const r of patterns) {
    console.log(
      `${r.name.padEnd(30)} ${f1(r.packetsPerSec).padStart(5)}  ${String(r.due).padStart(5)}  ${f1(r.onTimePercent).padStart(6)} %  ${f1(r.latePercent).padStart(3)} %  ${f1(r.skippedPercent).padStart(5)} %  ${r.idleBlocks} / ${r.streamingBlocks}`,
    );
  }
  const memory: MemoryRow[] = [];
  for (const mode of ["RAM", "flash"] as const) memory.push(await memoryAtDefault(bin, mode));
  console.log(
    "\nreal interpreter: JsVar blocks in use at the default configuration (targets with one client: 2,000 from RAM, 1,200 from flash)",
  );
  console.log("code in   idle  one client streaming");
  for (const m of memory)
    console.log(
      `${m.mode.padEnd(7)} ${String(m.idleBlocks).padStart(6)}  ${String(m.streamingBlocks).padStart(6)}`,
    );
  const s = await steps(bin);
  console.log(
    "\nreal interpreter: per-step costs (us per call, getTime() around each, bench/espruino/steps.ts)",
  );
  for (const [k, v] of Object.entries(s)) if (k !== "echoed") console.log(`  ${String(v).padStart(6)}  ${k}`);
  return { pings, patterns, memory, steps: s };
}
