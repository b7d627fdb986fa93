/**
 * Emulator capacity (issue 5), next to a raw `node:dgram` echo measured in the same run:
 * - how many emulated boards (the real build/firmware/syfala.js) one process sustains while each
 *   streams its configured input to a client, with the late and lost packet percentages measured
 *   at the client, for 1, 2, 4, 8, 16 and 32 boards (3 s per step);
 * - audio packets per second through one board in loopback (client engine -> UDP -> emulated
 *   board -> firmware's server engine -> reflected -> UDP -> client engine), with 1 and 4 packets
 *   in flight, against a plain UDP echo with the same datagram size and window;
 * - round-trip latency p50/p99 of that path against the raw echo's.
 *
 * The boards (or the raw echo) run in a child process of their own (this file, forked with
 * `--emulator-bench-child`), the client in this one, so the figures are those of ONE process
 * running boards, and its CPU use is reported. Ports: 51000-51020 on 127.0.0.0/8 (outside the
 * tests' ranges). Every loop and wait is bounded.
 */
import { type ChildProcess, fork } from "node:child_process";
import dgram from "node:dgram";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type Lan, startBoards } from "../host/emulator/index.js";
import type { AudioEvent } from "../shared/endpoint/events.js";
import { byteRate, type Format, frameSize } from "../shared/format.js";
import { type U64, u64ToNumber } from "../shared/u64.js";
import { POSTCARD_AUDIO_HEADER_BYTES, postcard } from "../shared/wire/postcard.js";
import { type EngineDriver, startDriver } from "../test/support/engine-driver.js";
import { fmtRate } from "./harness.js";

const CHILD_FLAG = "--emulator-bench-child";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIRMWARE = `${ROOT}build/firmware/syfala.js`;
const WIFI = { ssid: "bench", password: "bench" };

/** Streamed by every board in the scaling steps: 48 kHz stereo I16, 64-frame packets (750 packets/s). */
const STREAM: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I16" };
/** The loopback pair of the throughput and latency runs (256-byte payloads). */
const LOOP: Format = STREAM;
const PAYLOAD = STREAM.bufferSize * frameSize(STREAM);
const STEPS = [1, 2, 4, 8, 16, 32];
const STEP_MS = 3000;
/** Streaming before each step's window opens, in ms. */
const WARMUP_MS = 500;
const RUN_MS = 2000;
/** A packet is late when it arrives this long after its last sample was due (2 ESP32 ticks). */
const LATE_MS = 20;

const PORTS = {
  stream: 51000,
  streamClient: 51001,
  echo: 51002,
  echoClient: 51003,
  loop: 51010,
  loopClient: 51011,
};

const CONFIGS = {
  stream: {
    wifi: WIFI,
    statusEveryMs: 0,
    inputs: [{ ...STREAM, source: "pattern" }],
    outputs: [{ ...STREAM, sink: "discard" }],
  },
  loop: {
    wifi: WIFI,
    statusEveryMs: 0,
    inputs: [{ ...LOOP, source: "loopback" }],
    outputs: [{ ...LOOP, sink: "loopback" }],
  },
};

// -------------------------------------------------------------------------------------------
// The child: boards or a raw echo, driven over IPC.

type ToChild = { type: "mark" } | { type: "stop" };
type FromChild =
  | { type: "ready"; addresses: string[] }
  | { type: "done"; cpuPercent: number; queueDrops: number; uncaught: number };

function isFromChild(m: unknown): m is FromChild {
  return typeof m === "object" && m !== null && "type" in m && (m.type === "ready" || m.type === "done");
}

async function runChild(mode: string, count: number, port: number): Promise<void> {
  const send = (m: FromChild): void => {
    process.send?.(m);
  };
  let lan: Lan | undefined;
  let echo: dgram.Socket | undefined;
  if (mode === "echo") {
    const s = dgram.createSocket("udp4");
    echo = s;
    s.on("message", (msg, r) => s.send(msg, r.port, r.address));
    await new Promise<void>((resolve) => s.bind(port, "127.0.0.1", () => resolve()));
    send({ type: "ready", addresses: ["127.0.0.1"] });
  } else {
    const config = mode === "loop" ? CONFIGS.loop : CONFIGS.stream;
    const l = await startBoards({
      count,
      firmwarePath: FIRMWARE,
      config: { ...config, port },
      wifiTiming: { connectDelayMs: 5, retryMs: 50 },
      inspectClosures: false,
    });
    lan = l;
    const end = Date.now() + 10000;
    while (!l.boards.every((b) => b.online) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    send({ type: "ready", addresses: l.boards.map((b) => b.address) });
  }
  let cpu = process.cpuUsage();
  let wall = performance.now();
  process.on("message", (m: ToChild) => {
    if (m.type === "mark") {
      cpu = process.cpuUsage();
      wall = performance.now();
      return;
    }
    const used = process.cpuUsage(cpu);
    const cpuPercent = ((used.user + used.system) / 1000 / (performance.now() - wall)) * 100;
    let queueDrops = 0;
    let uncaught = 0;
    for (const b of lan?.boards ?? []) {
      const st = b.stats();
      queueDrops += st.datagrams.droppedQueueFull;
      uncaught += st.loop.uncaught;
    }
    echo?.close();
    void (lan?.stop() ?? Promise.resolve()).then(() => {
      send({ type: "done", cpuPercent, queueDrops, uncaught });
      setTimeout(() => process.exit(0), 50);
    });
  });
}

if (process.argv[2] === CHILD_FLAG) {
  await runChild(process.argv[3] ?? "stream", Number(process.argv[4] ?? 1), Number(process.argv[5] ?? 0));
}

// -------------------------------------------------------------------------------------------
// The parent.

/** A forked child and its next message. */
class Child {
  private readonly proc: ChildProcess;
  private readonly inbox: FromChild[] = [];
  private wake: (() => void) | undefined;

  constructor(mode: string, count: number, port: number) {
    this.proc = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, mode, String(count), String(port)], {
      cwd: ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.proc.on("message", (m: unknown) => {
      if (!isFromChild(m)) return;
      this.inbox.push(m);
      this.wake?.();
    });
  }

  async next<T extends FromChild["type"]>(type: T, maxMs: number): Promise<Extract<FromChild, { type: T }>> {
    const end = performance.now() + maxMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<FromChild, { type: T }>;
      const left = end - performance.now();
      if (left <= 0) throw new Error(`bench/emulator: no "${type}" from the child within ${maxMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  tell(m: ToChild): void {
    this.proc.send(m);
  }

  /** Stops the child: its figures, or undefined when it does not answer in time (then killed). */
  async stop(): Promise<Extract<FromChild, { type: "done" }> | undefined> {
    this.tell({ type: "stop" });
    try {
      return await this.next("done", 10000);
    } catch {
      return undefined;
    } finally {
      const killer = setTimeout(() => this.proc.kill("SIGKILL"), 2000);
      await new Promise<void>((resolve) => {
        if (this.proc.exitCode !== null) resolve();
        else this.proc.once("exit", () => resolve());
      });
      clearTimeout(killer);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** A client engine on 127.0.0.1:`clientPort` connected to every address (unicast Discovery). */
async function connectAll(
  clientPort: number,
  addresses: readonly string[],
  port: number,
): Promise<{ d: EngineDriver; peers: string[] }> {
  const d = await startDriver(
    { address: "127.0.0.1", port: clientPort },
    {
      codecs: { postcard },
      targets: addresses.map((address) => ({ address, port })),
      maxServers: Math.max(addresses.length, 1),
    },
  );
  d.act((e, now) => e.startDiscovery(now));
  await d.until(() => d.engine.connectedCount >= addresses.length, 10000, "all boards connected");
  d.act((e) => e.stopDiscovery());
  const peers = addresses.map((a) => `${a}:${port}`);
  d.act((e, now) => {
    for (const p of peers) e.startIO(p, now);
  });
  await d.until(() => peers.every((p) => d.engine.ioPhase(p) === "started"), 5000, "IO started");
  return { d, peers };
}

// --- scaling --------------------------------------------------------------------------------

interface StepResult {
  boards: number;
  /** Packets due per second from all boards (nominal). */
  expectedPerSec: number;
  /** Packets due in the window that arrived, per second. */
  receivedPerSec: number;
  latePercent: number;
  lostPercent: number;
  cpuPercent: number;
  clientCpuPercent: number;
  queueDrops: number;
  note: string;
}

/** Per board: what arrived of the packets due in the window, against a clock anchored at its IO start. */
interface Track {
  /** When the client saw Start(Ok) (the board anchored its pacer a little earlier). */
  anchor: number;
  received: number;
  late: number;
}

async function scalingStep(n: number): Promise<StepResult> {
  const child = new Child("stream", n, PORTS.stream);
  const result: StepResult = {
    boards: n,
    expectedPerSec: (n * byteRate(STREAM)) / PAYLOAD,
    receivedPerSec: Number.NaN,
    latePercent: Number.NaN,
    lostPercent: Number.NaN,
    cpuPercent: Number.NaN,
    clientCpuPercent: Number.NaN,
    queueDrops: 0,
    note: "",
  };
  let d: EngineDriver | undefined;
  try {
    const ready = await child.next("ready", 60000);
    const c = await connectAll(PORTS.streamClient, ready.addresses, PORTS.stream);
    const driver = c.d;
    d = driver;
    /** Bytes per ms. */
    const rate = byteRate(STREAM) / 1000;
    const tracks = new Map<string, Track>();
    for (const l of driver.log) {
      if (l.event.type === "ioStarted") tracks.set(l.event.peer, { anchor: l.t, received: 0, late: 0 });
    }
    // Packets count when due in (windowStart, windowEnd]: packet k is due when its last frame is,
    // anchor + (k + 1) * PAYLOAD / rate. The window opens after a warm-up (JIT, first garbage
    // collections).
    const windowStart = driver.now() + WARMUP_MS;
    const windowEnd = windowStart + STEP_MS;
    driver.onAudio = (e: AudioEvent) => {
      const t = tracks.get(e.peer);
      if (t === undefined) return;
      const due = t.anchor + (u64ToNumber(e.byteIdx) + e.payload.length) / rate;
      if (due <= windowStart || due > windowEnd) return;
      t.received++;
      if (driver.now() - due > LATE_MS) t.late++;
    };
    await sleep(WARMUP_MS);
    child.tell({ type: "mark" });
    const cpu = process.cpuUsage();
    // Packets due by windowEnd have until windowEnd + LATE_MS + 30 ms to arrive (then: lost).
    await sleep(STEP_MS + LATE_MS + 30);
    const used = process.cpuUsage(cpu);
    result.clientCpuPercent = ((used.user + used.system) / 1000 / (driver.now() - windowStart)) * 100;
    driver.onAudio = null;
    let expected = 0;
    let received = 0;
    let late = 0;
    for (const t of tracks.values()) {
      const dueBy = (at: number): number => Math.floor(((at - t.anchor) * rate) / PAYLOAD);
      expected += dueBy(windowEnd) - dueBy(windowStart);
      received += t.received;
      late += t.late;
    }
    if (tracks.size !== n) result.note = `${tracks.size} of ${n} boards started IO`;
    result.receivedPerSec = (received * 1000) / (windowEnd - windowStart);
    result.latePercent = received > 0 ? (100 * late) / received : Number.NaN;
    result.lostPercent = expected > 0 ? (100 * Math.max(0, expected - received)) / expected : Number.NaN;
  } catch (e) {
    result.note = String(e instanceof Error ? e.message : e);
  } finally {
    d?.close();
    const done = await child.stop();
    if (done !== undefined) {
      result.cpuPercent = done.cpuPercent;
      result.queueDrops = done.queueDrops;
      if (done.uncaught > 0) result.note += ` ${done.uncaught} uncaught in the firmware`;
    }
  }
  return result;
}

// --- throughput and latency: loopback board vs raw echo ----------------------------------------

interface PingResult {
  name: string;
  window: number;
  packetsPerSec: number;
  p50: number;
  p99: number;
  samples: number;
}

/**
 * Keeps `window` packets in flight for RUN_MS through `send(seq)`, `onReturn(seq)` to be called by
 * the caller for each one back; a packet not back within 100 ms is given up (the window refilled).
 */
async function pingLoop(
  name: string,
  window: number,
  send: (seq: number) => void,
  setOnReturn: (f: (seq: number) => void) => void,
): Promise<PingResult> {
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let seq = 0;
  let back = 0;
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
    back++;
    rtts.push(performance.now() - t);
    if (running) fire();
  });
  const start = performance.now();
  for (let i = 0; i < window; i++) fire();
  const end = start + RUN_MS;
  while (performance.now() < end) {
    await sleep(50);
    const now = performance.now();
    for (const [s, t] of sentAt) {
      if (now - t > 100) {
        sentAt.delete(s);
        if (running) fire();
      }
    }
  }
  running = false;
  const secs = (performance.now() - start) / 1000;
  await sleep(50);
  rtts.sort((a, b) => a - b);
  return {
    name,
    window,
    packetsPerSec: back / secs,
    p50: percentile(rtts, 0.5),
    p99: percentile(rtts, 0.99),
    samples: rtts.length,
  };
}

/** The raw echo: datagrams of the stack's size, a sequence number in the first 4 bytes. */
async function rawEcho(window: number): Promise<PingResult> {
  const child = new Child("echo", 1, PORTS.echo);
  await child.next("ready", 20000);
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(PORTS.echoClient, "127.0.0.1", () => resolve()));
  const size = POSTCARD_AUDIO_HEADER_BYTES + PAYLOAD;
  try {
    return await pingLoop(
      "raw node:dgram echo",
      window,
      (seq) => {
        // A fresh buffer each: Node reads the bytes after send() returns (address lookup first).
        const buf = Buffer.alloc(size);
        buf.writeUInt32LE(seq, 0);
        sock.send(buf, PORTS.echo, "127.0.0.1");
      },
      (f) => sock.on("message", (m: Buffer) => f(m.readUInt32LE(0))),
    );
  } finally {
    sock.close();
    await child.stop();
  }
}

/** One emulated board in loopback: packet `seq` goes out at byte index seq * PAYLOAD on output 0. */
async function boardLoop(window: number): Promise<PingResult> {
  const child = new Child("loop", 1, PORTS.loop);
  let d: EngineDriver | undefined;
  try {
    const ready = await child.next("ready", 30000);
    const c = await connectAll(PORTS.loopClient, ready.addresses, PORTS.loop);
    d = c.d;
    const driver = d;
    const peer = c.peers[0] as string;
    const payload = new Uint8Array(PAYLOAD).fill(0x5a);
    const idx: U64 = { hi: 0, lo: 0 };
    return await pingLoop(
      "emulated board, loopback",
      window,
      (seq) => {
        const at = seq * PAYLOAD;
        idx.hi = Math.floor(at / 4294967296);
        idx.lo = at >>> 0;
        driver.sendAudio(peer, 0, idx, payload);
      },
      (f) => {
        driver.onAudio = (e) => {
          if (e.streamIdx === 0) f(u64ToNumber(e.byteIdx) / PAYLOAD);
        };
      },
    );
  } finally {
    d?.close();
    await child.stop();
  }
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** Runs the emulator benchmarks and prints their tables. */
export async function benchEmulator(): Promise<void> {
  const pings: PingResult[] = [];
  for (const w of [1, 4]) {
    pings.push(await rawEcho(w));
    pings.push(await boardLoop(w));
  }
  console.log(
    `\nemulator: packets/s and round trip, ${POSTCARD_AUDIO_HEADER_BYTES + PAYLOAD}-byte datagrams on 127.0.0.1 (raw echo = baseline of the same window)`,
  );
  const w = Math.max(...pings.map((p) => p.name.length));
  console.log(
    `${"case".padEnd(w)}  window  ${"packets/s".padStart(10)}  x baseline  ${"rtt p50 ms".padStart(10)}  ${"rtt p99 ms".padStart(10)}`,
  );
  for (const p of pings) {
    const base = pings.find((b) => b.window === p.window && b.name.startsWith("raw"));
    const ratio = base === undefined ? Number.NaN : p.packetsPerSec / base.packetsPerSec;
    console.log(
      `${p.name.padEnd(w)}  ${String(p.window).padStart(6)}  ${fmtRate(p.packetsPerSec).padStart(10)}  ${fmt(ratio, 3).padStart(10)}  ${fmt(p.p50, 3).padStart(10)}  ${fmt(p.p99, 3).padStart(10)}`,
    );
  }

  console.log(
    `\nemulator: boards in one process, each streaming 48 kHz stereo I16 in ${STREAM.bufferSize}-frame packets ` +
      `(${fmtRate(byteRate(STREAM) / PAYLOAD)} packets/s) to one client, ${STEP_MS / 1000} s per step; ` +
      `late = over ${LATE_MS} ms after due`,
  );
  console.log(
    `${"boards".padStart(6)}  ${"expected/s".padStart(10)}  ${"received/s".padStart(10)}  ${"late %".padStart(7)}  ${"lost %".padStart(7)}  ${"boards CPU %".padStart(12)}  ${"client CPU %".padStart(12)}  ${"queue drops".padStart(11)}`,
  );
  for (const n of STEPS) {
    const r = await scalingStep(n);
    console.log(
      `${String(r.boards).padStart(6)}  ${fmtRate(r.expectedPerSec).padStart(10)}  ${fmtRate(r.receivedPerSec).padStart(10)}  ${fmt(r.latePercent, 2).padStart(7)}  ${fmt(r.lostPercent, 2).padStart(7)}  ${fmt(r.cpuPercent, 0).padStart(12)}  ${fmt(r.clientCpuPercent, 0).padStart(12)}  ${String(r.queueDrops).padStart(11)}${r.note ? `  ${r.note}` : ""}`,
    );
  }
}
