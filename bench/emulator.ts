/**
 * Emulator capacity (issues 5 and 7), next to a raw `node:dgram` echo measured in the same run:
 * - the most emulated boards (the real build/firmware/syfala.js) one process sustains while each
 *   streams its input to a client, at two formats: the firmware's default (16 kHz mono I16,
 *   256-frame packets, 62.5 packets/s per board, taken from shared/board-config.ts) and the standard
 *   one (48 kHz stereo f32, 32-frame packets, 1,500 packets/s per board, 256-byte payloads).
 *   Per format: 1, 2, 4, 8... 128, 160 boards (3 s windows) until a count fails {@link CRITERION} twice
 *   running, then one bisection step between the last count that held and the first that failed;
 *   at most {@link MAX_BOARDS} boards and {@link FORMAT_BUDGET_MS} per format. Each step also
 *   reports the CPU the rest of the machine used, since other work on it moves the figures;
 * - audio packets per second through one board in loopback (client engine -> UDP -> emulated
 *   board -> firmware's server engine -> reflected -> UDP -> client engine), with 1 and 4 packets
 *   in flight, against a plain UDP echo with the same datagram size and window;
 * - round-trip latency p50/p99 of that path against the raw echo's.
 *
 * The boards (or the raw echo) run in a child process of their own (this file, forked with
 * `--emulator-bench-child`), the clients in this one (one client engine per 32 boards), so the
 * figures are those of ONE process running boards, and its CPU use is reported. Ports:
 * 51000-51024 on 127.0.0.0/8 (outside the tests' ranges); boards get 127.0.0.2 onwards. Every
 * loop and wait is bounded.
 * {@link benchEmulator} prints one table per part and returns the figures.
 */
import { type ChildProcess, fork } from "node:child_process";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type Lan, startBoards } from "../host/emulator/index.js";
import { openUdpTransport } from "../host/transport/udp.js";
import { checkConfig } from "../shared/board-config.js";
import { ClientEngine } from "../shared/endpoint/client.js";
import type { AudioEvent } from "../shared/endpoint/events.js";
import { byteRate, describeFormat, type Format, frameSize } from "../shared/format.js";
import { type U64, u64ToNumber } from "../shared/u64.js";
import { POSTCARD_AUDIO_HEADER_BYTES, postcard } from "../shared/wire/postcard.js";
import { EngineDriver } from "../test/support/engine-driver.js";
import { fmtRate, type PingResult, percentile, pingLoop } from "./harness.js";

const CHILD_FLAG = "--emulator-bench-child";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIRMWARE = `${ROOT}build/firmware/syfala.js`;
const WIFI = { ssid: "bench", password: "bench" };

/** The four fields of a format (an input or output config has more). */
function formatOf(f: Format): Format {
  return {
    sampleRate: f.sampleRate,
    channelCount: f.channelCount,
    bufferSize: f.bufferSize,
    sampleType: f.sampleType,
  };
}

/** The firmware's default input format, from its own configuration checker (16 kHz mono I16, 256 frames). */
const DEFAULT_FORMAT: Format = (() => {
  const input = checkConfig({}).config.inputs[0];
  if (input === undefined)
    throw new Error("bench/emulator: the firmware's default configuration has no input");
  return formatOf(input);
})();
/** The standard format: 48 kHz stereo f32 in 32-frame packets (256-byte payloads, 1,500 packets/s). */
const STANDARD_FORMAT: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: "IEEF32" };

/** A format of the scaling part and the configuration of its boards. */
interface ScalingCase {
  readonly name: string;
  readonly format: Format;
  /** syfala.json of every board (the child adds the port). */
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * Both with the firmware's defaults for everything but the format: a 440 Hz tone on the input, an
 * output whose audio is discarded, no status line (statusEveryMs 0, the one change from the
 * defaults: the console is not read). The default case gives no inputs or outputs at all, so
 * the firmware picks its own.
 */
const SCALING: readonly ScalingCase[] = [
  { name: "default", format: DEFAULT_FORMAT, config: { wifi: WIFI, statusEveryMs: 0 } },
  {
    name: "standard",
    format: STANDARD_FORMAT,
    config: {
      wifi: WIFI,
      statusEveryMs: 0,
      inputs: [{ ...STANDARD_FORMAT, source: "tone" }],
      outputs: [{ ...STANDARD_FORMAT, sink: "discard" }],
    },
  },
];

/** The loopback pair of the throughput and latency runs: 48 kHz stereo I16, 64-frame packets (256-byte payloads). */
const LOOP: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I16" };
const LOOP_PAYLOAD = LOOP.bufferSize * frameSize(LOOP);

/** Board counts go 1, 2, 4... 128, then this (addresses 127.0.0.2..127.0.0.161). */
const MAX_BOARDS = 160;
/**
 * Boards per client engine in the scaling steps. One engine's outgoing control queue holds 64
 * messages (QUEUE_CAPACITY), and a Discovery beacon or the Starts to more targets than that in
 * one call lose the oldest: the client, not the boards, would fail at 96 boards.
 */
const CLIENT_BOARDS = 32;
/**
 * Receive buffer of each scaling client's socket, in bytes (Linux caps it at net.core.rmem_max):
 * the default (~208 KB, a few ms of 24,000 datagrams/s) would make the client's own pauses into
 * loss charged to the boards.
 */
const CLIENT_RCVBUF_BYTES = 4 * 1024 * 1024;
/** The window of one scaling step, in ms. */
const STEP_MS = 3000;
/** Streaming before each step's window opens, in ms. */
const WARMUP_MS = 500;
/** No new scaling step starts once a format has used this long, in ms (the emulator part stays under ~3 min). */
const FORMAT_BUDGET_MS = 70000;
const RUN_MS = 2000;
/** A packet is late when it arrives this long after its last sample was due (2 ESP32 ticks). */
const LATE_MS = 20;
/** A board count is sustained with at most this share of late packets... */
const MAX_LATE_PERCENT = 1;
/** ...and at most this share lost (due in the window, not arrived within LATE_MS + 30 ms after it). */
const MAX_LOST_PERCENT = 0;
/**
 * The criterion, as printed. A count that fails runs once more and holds if that run passes: the
 * machine is shared, and one burst of other work must not end the search.
 */
const CRITERION =
  `late <= ${MAX_LATE_PERCENT} % and lost = 0 % at the client over a ${STEP_MS / 1000} s window ` +
  `(late = over ${LATE_MS} ms after due), every board streaming, no error; a failing count gets a 2nd run`;

const PORTS = {
  stream: 51000,
  /** The first of the scaling part's client ports (one per CLIENT_BOARDS boards: 51020-51024). */
  streamClients: 51020,
  echo: 51002,
  echoClient: 51003,
  loop: 51010,
  loopClient: 51011,
};

/** The child's board configurations by mode (the scaling cases by name, and "loop"). */
function childConfig(mode: string): Readonly<Record<string, unknown>> {
  if (mode === "loop") {
    return {
      wifi: WIFI,
      statusEveryMs: 0,
      inputs: [{ ...LOOP, source: "loopback" }],
      outputs: [{ ...LOOP, sink: "loopback" }],
    };
  }
  const c = SCALING.find((x) => x.name === mode);
  if (c === undefined) throw new Error(`bench/emulator: unknown child mode ${mode}`);
  return c.config;
}

// -------------------------------------------------------------------------------------------
// The child: boards or a raw echo, driven over IPC.

type ToChild = { type: "mark" } | { type: "stop" };
type FromChild =
  | { type: "ready"; addresses: string[] }
  | {
      type: "done";
      cpuPercent: number;
      /** Datagrams the boards sent per second since the mark. */
      sentPerSec: number;
      queueDrops: number;
      uncaught: number;
    };

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
    const config = childConfig(mode);
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
  const sent = (): number => {
    let n = 0;
    for (const b of lan?.boards ?? []) n += b.stats().datagrams.sent;
    return n;
  };
  let cpu = process.cpuUsage();
  let wall = performance.now();
  let sentAtMark = 0;
  process.on("message", (m: ToChild) => {
    if (m.type === "mark") {
      cpu = process.cpuUsage();
      wall = performance.now();
      sentAtMark = sent();
      return;
    }
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - wall;
    const cpuPercent = ((used.user + used.system) / 1000 / ms) * 100;
    const sentPerSec = ((sent() - sentAtMark) * 1000) / ms;
    let queueDrops = 0;
    let uncaught = 0;
    for (const b of lan?.boards ?? []) {
      const st = b.stats();
      queueDrops += st.datagrams.droppedQueueFull;
      uncaught += st.loop.uncaught;
    }
    echo?.close();
    void (lan?.stop() ?? Promise.resolve()).then(() => {
      send({ type: "done", cpuPercent, sentPerSec, queueDrops, uncaught });
      setTimeout(() => process.exit(0), 50);
    });
  });
}

if (process.argv[2] === CHILD_FLAG) {
  await runChild(process.argv[3] ?? "default", Number(process.argv[4] ?? 1), Number(process.argv[5] ?? 0));
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

/**
 * A client engine on 127.0.0.1:`clientPort` connected to every address (unicast Discovery), with
 * IO started. `receiveBufferBytes`: its socket's (0: the system's default).
 */
async function connectAll(
  clientPort: number,
  addresses: readonly string[],
  port: number,
  receiveBufferBytes = 0,
): Promise<{ d: EngineDriver; peers: string[] }> {
  const d = new EngineDriver(
    new ClientEngine({
      codecs: { postcard },
      targets: addresses.map((address) => ({ address, port })),
      maxServers: Math.max(addresses.length, 1),
    }),
    await openUdpTransport({ address: "127.0.0.1", port: clientPort, broadcast: true, receiveBufferBytes }),
  );
  try {
    d.act((e, now) => e.startDiscovery(now));
    await d.until(() => d.engine.connectedCount >= addresses.length, 10000, "all boards connected");
    d.act((e) => e.stopDiscovery());
    const peers = addresses.map((a) => `${a}:${port}`);
    d.act((e, now) => {
      for (const p of peers) e.startIO(p, now);
    });
    await d.until(() => peers.every((p) => d.engine.ioPhase(p) === "started"), 5000, "IO started");
    return { d, peers };
  } catch (e) {
    // Or the socket stays bound and the next step cannot bind its port.
    d.close();
    throw e;
  }
}

// --- scaling --------------------------------------------------------------------------------

/** One scaling step: `boards` boards streaming for one window. */
export interface StepResult {
  boards: number;
  /** Packets due per second from all boards (nominal). */
  expectedPerSec: number;
  /** Datagrams the boards sent per second (the boards' process's count, over about the window). */
  sentPerSec: number;
  /** Packets due in the window that arrived, per second. */
  receivedPerSec: number;
  latePercent: number;
  lostPercent: number;
  /** CPU of the process running the boards over the window (100 = one core). */
  cpuPercent: number;
  clientCpuPercent: number;
  /** Datagrams the boards' emulated socket queues dropped (full). */
  queueDrops: number;
  /**
   * UDP datagrams the kernel dropped for full receive buffers over the window (/proc/net/snmp
   * RcvbufErrors: the whole machine's, NaN where missing).
   */
  rcvbufDrops: number;
  /**
   * CPU the rest of the machine used over the window (all cores' busy time from /proc/stat less
   * the boards' and the client's; 100 = one core; NaN where /proc/stat is missing).
   */
  otherCpuPercent: number;
  /** Whether the step met {@link CRITERION}. */
  sustained: boolean;
  /** 1, or 2 for the second run of a count whose first run failed. */
  attempt: number;
  /** What went wrong, "" when nothing did. */
  note: string;
}

/** One format's scaling steps and what they found. */
export interface ScalingResult {
  /** "default" or "standard". */
  name: string;
  format: Format;
  packetsPerSecPerBoard: number;
  /** In the order run: doubling, then the bisection step. */
  steps: StepResult[];
  /** The most boards that met the criterion (0: not even one). */
  maxBoards: number;
  /** The fewest that failed it; undefined when none did (cap or time budget reached first). */
  firstFailing: number | undefined;
  criterion: string;
}

/** Busy and total jiffies of all cores from /proc/stat; undefined where there is none (not Linux). */
function machineCpu(): { busy: number; total: number; cores: number } | undefined {
  try {
    const lines = readFileSync("/proc/stat", "utf8").split("\n");
    const all = (lines[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is within user).
    const total = all.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (all[3] ?? 0) + (all[4] ?? 0);
    const cores = lines.filter((l) => /^cpu\d/.test(l)).length;
    return Number.isFinite(total) && cores > 0 ? { busy: total - idle, total, cores } : undefined;
  } catch {
    return undefined;
  }
}

/** The kernel's count of UDP datagrams dropped for a full receive buffer (NaN where there is none). */
function rcvbufErrors(): number {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp: "));
    const names = (lines[0] ?? "").trim().split(/\s+/);
    const values = (lines[1] ?? "").trim().split(/\s+/);
    const i = names.indexOf("RcvbufErrors");
    return i < 0 ? Number.NaN : Number(values[i]);
  } catch {
    return Number.NaN;
  }
}

/** The machine's CPU use between two readings (100 = one core). */
function machineCpuPercent(a: ReturnType<typeof machineCpu>, b: ReturnType<typeof machineCpu>): number {
  if (a === undefined || b === undefined || b.total <= a.total) return Number.NaN;
  return ((b.busy - a.busy) / (b.total - a.total)) * b.cores * 100;
}

/** Per board: what arrived of the packets due in the window, against a clock anchored at its IO start. */
interface Track {
  /** When the client saw Start(Ok) (the board anchored its pacer a little earlier). */
  anchor: number;
  received: number;
  late: number;
}

async function scalingStep(c: ScalingCase, n: number): Promise<StepResult> {
  const payload = c.format.bufferSize * frameSize(c.format);
  const child = new Child(c.name, n, PORTS.stream);
  const result: StepResult = {
    boards: n,
    expectedPerSec: (n * byteRate(c.format)) / payload,
    sentPerSec: Number.NaN,
    receivedPerSec: Number.NaN,
    latePercent: Number.NaN,
    lostPercent: Number.NaN,
    cpuPercent: Number.NaN,
    clientCpuPercent: Number.NaN,
    queueDrops: 0,
    rcvbufDrops: Number.NaN,
    otherCpuPercent: Number.NaN,
    sustained: false,
    attempt: 1,
    note: "",
  };
  const drivers: EngineDriver[] = [];
  let machineBusy = Number.NaN;
  try {
    const ready = await child.next("ready", 30000);
    // One client engine per CLIENT_BOARDS boards (see there), each on its own port.
    for (let i = 0; i * CLIENT_BOARDS < ready.addresses.length; i++) {
      const group = ready.addresses.slice(i * CLIENT_BOARDS, (i + 1) * CLIENT_BOARDS);
      drivers.push((await connectAll(PORTS.streamClients + i, group, PORTS.stream, CLIENT_RCVBUF_BYTES)).d);
    }
    /** Bytes per ms. */
    const rate = byteRate(c.format) / 1000;
    const tracks = new Map<string, Track>();
    for (const driver of drivers) {
      for (const l of driver.log) {
        if (l.event.type === "ioStarted") tracks.set(l.event.peer, { anchor: l.t, received: 0, late: 0 });
      }
    }
    // Packets count when due in (windowStart, windowEnd]: packet k is due when its last frame is,
    // anchor + (k + 1) * payload / rate. The window opens after a warm-up (JIT, first garbage
    // collections).
    const windowStart = performance.now() + WARMUP_MS;
    const windowEnd = windowStart + STEP_MS;
    for (const driver of drivers) {
      driver.onAudio = (e: AudioEvent) => {
        const t = tracks.get(e.peer);
        if (t === undefined) return;
        const due = t.anchor + (u64ToNumber(e.byteIdx) + e.payload.length) / rate;
        if (due <= windowStart || due > windowEnd) return;
        t.received++;
        if (driver.now() - due > LATE_MS) t.late++;
      };
    }
    await sleep(WARMUP_MS);
    child.tell({ type: "mark" });
    const cpu = process.cpuUsage();
    const machine = machineCpu();
    const rcvbuf = rcvbufErrors();
    // Packets due by windowEnd have until windowEnd + LATE_MS + 30 ms to arrive (then: lost).
    await sleep(STEP_MS + LATE_MS + 30);
    const used = process.cpuUsage(cpu);
    result.clientCpuPercent = ((used.user + used.system) / 1000 / (performance.now() - windowStart)) * 100;
    machineBusy = machineCpuPercent(machine, machineCpu());
    result.rcvbufDrops = rcvbufErrors() - rcvbuf;
    for (const driver of drivers) driver.onAudio = null;
    let expected = 0;
    let received = 0;
    let late = 0;
    for (const t of tracks.values()) {
      const dueBy = (at: number): number => Math.floor(((at - t.anchor) * rate) / payload);
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
    // The boards first: their CPU and sent counts then cover the window and no more.
    const done = await child.stop();
    for (const driver of drivers) driver.close();
    if (done === undefined) result.note += " the boards' process did not stop in time";
    else {
      result.cpuPercent = done.cpuPercent;
      result.sentPerSec = done.sentPerSec;
      result.queueDrops = done.queueDrops;
      result.otherCpuPercent = Math.max(0, machineBusy - done.cpuPercent - result.clientCpuPercent);
      if (done.uncaught > 0) result.note += ` ${done.uncaught} uncaught in the firmware`;
    }
  }
  result.note = result.note.trim();
  // NaN (nothing measured) compares false: not sustained.
  result.sustained =
    result.note === "" && result.latePercent <= MAX_LATE_PERCENT && result.lostPercent <= MAX_LOST_PERCENT;
  return result;
}

function rate(n: number): string {
  return Number.isFinite(n) ? fmtRate(n) : "-";
}

function stepRow(r: StepResult): string {
  return (
    `${String(r.boards).padStart(6)}  ${rate(r.expectedPerSec).padStart(10)}  ${rate(r.sentPerSec).padStart(10)}  ${rate(r.receivedPerSec).padStart(10)}  ` +
    `${fmt(r.latePercent, 2).padStart(7)}  ${fmt(r.lostPercent, 2).padStart(7)}  ${fmt(r.cpuPercent, 0).padStart(12)}  ` +
    `${fmt(r.clientCpuPercent, 0).padStart(12)}  ${fmt(r.otherCpuPercent, 0).padStart(11)}  ${String(r.queueDrops).padStart(11)}  ${fmt(r.rcvbufDrops, 0).padStart(12)}  ` +
    `${(r.sustained ? "ok" : "FAIL").padStart(4)}${r.attempt > 1 ? " (2nd run)" : ""}` +
    (r.note ? `  ${r.note}` : "")
  );
}

/**
 * One format's search, printing its table as it goes: doubling from 1 board until a count fails
 * (or {@link MAX_BOARDS}, or the time budget), then one bisection step between the last count that
 * held and the first that failed.
 */
async function scaleFormat(c: ScalingCase): Promise<ScalingResult> {
  const payload = c.format.bufferSize * frameSize(c.format);
  const perBoard = byteRate(c.format) / payload;
  console.log(
    `\nemulator: boards in one process, ${c.name} format (${describeFormat(c.format)}, ${payload}-byte payloads, ` +
      `${Number.isInteger(perBoard) ? fmtRate(perBoard) : perBoard} packets/s per board), each streaming to a client (one client engine per ${CLIENT_BOARDS} boards); ` +
      `${STEP_MS / 1000} s window per step`,
  );
  console.log(
    `${"boards".padStart(6)}  ${"expected/s".padStart(10)}  ${"sent/s".padStart(10)}  ${"received/s".padStart(10)}  ${"late %".padStart(7)}  ` +
      `${"lost %".padStart(7)}  ${"boards CPU %".padStart(12)}  ${"client CPU %".padStart(12)}  ${"other CPU %".padStart(11)}  ${"queue drops".padStart(11)}  ${"rcvbuf drops".padStart(12)}  ${"".padStart(4)}`,
  );
  const start = performance.now();
  const steps: StepResult[] = [];
  let good = 0;
  let bad: number | undefined;
  let stopped = "";
  /** Runs `n` boards; a failing count runs once more (within the budget) and holds if that run does. */
  const run = async (n: number): Promise<boolean> => {
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (attempt > 1 && performance.now() - start > FORMAT_BUDGET_MS) return false;
      const r = await scalingStep(c, n);
      r.attempt = attempt;
      steps.push(r);
      console.log(stepRow(r));
      if (r.sustained) return true;
    }
    return false;
  };
  // Doubling up to MAX_BOARDS: at most log2(MAX_BOARDS) + 2 counts (n grows until it is MAX_BOARDS).
  for (let n = 1, last = 0; n > last; last = n, n = Math.min(n * 2, MAX_BOARDS)) {
    if (performance.now() - start > FORMAT_BUDGET_MS) {
      stopped = "time budget reached";
      break;
    }
    if (!(await run(n))) {
      bad = n;
      break;
    }
    good = n;
  }
  // One bisection step.
  if (bad !== undefined && bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (performance.now() - start > FORMAT_BUDGET_MS) stopped = "time budget reached, no bisection";
    else if (await run(mid)) good = mid;
    else bad = mid;
  }
  if (bad === undefined && stopped === "") stopped = `the cap, ${MAX_BOARDS}, held`;
  const count = bad === undefined ? `>= ${good}` : String(good);
  const end = bad === undefined ? stopped : `${bad} failed${stopped ? `, ${stopped}` : ""}`;
  console.log(`${c.name} format: max boards per process: ${count} (${CRITERION}; ${end})`);
  const others = steps.map((r) => r.otherCpuPercent).filter((x) => Number.isFinite(x));
  others.sort((a, b) => a - b);
  if (others.length > 0) {
    console.log(
      `${c.name} format: other work on the machine during the steps: median ${fmt(percentile(others, 0.5), 0)} %, ` +
        `max ${fmt(others[others.length - 1] ?? Number.NaN, 0)} % of a core (it competes with the boards and the clients for CPU)`,
    );
  }
  return {
    name: c.name,
    format: c.format,
    packetsPerSecPerBoard: perBoard,
    steps,
    maxBoards: good,
    firstFailing: bad,
    criterion: CRITERION,
  };
}

// --- throughput and latency: loopback board vs raw echo ----------------------------------------

/** The raw echo: datagrams of the stack's size, a sequence number in the first 4 bytes. */
async function rawEcho(window: number): Promise<PingResult> {
  const child = new Child("echo", 1, PORTS.echo);
  await child.next("ready", 20000);
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(PORTS.echoClient, "127.0.0.1", () => resolve()));
  const size = POSTCARD_AUDIO_HEADER_BYTES + LOOP_PAYLOAD;
  try {
    return await pingLoop(
      "raw node:dgram echo",
      window,
      RUN_MS,
      100,
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

/** One emulated board in loopback: packet `seq` goes out at byte index seq * LOOP_PAYLOAD on output 0. */
async function boardLoop(window: number): Promise<PingResult> {
  const child = new Child("loop", 1, PORTS.loop);
  let d: EngineDriver | undefined;
  try {
    const ready = await child.next("ready", 30000);
    const c = await connectAll(PORTS.loopClient, ready.addresses, PORTS.loop);
    d = c.d;
    const driver = d;
    const peer = c.peers[0] as string;
    const payload = new Uint8Array(LOOP_PAYLOAD).fill(0x5a);
    const idx: U64 = { hi: 0, lo: 0 };
    return await pingLoop(
      "emulated board, loopback",
      window,
      RUN_MS,
      100,
      (seq) => {
        const at = seq * LOOP_PAYLOAD;
        idx.hi = Math.floor(at / 4294967296);
        idx.lo = at >>> 0;
        driver.sendAudio(peer, 0, idx, payload);
      },
      (f) => {
        driver.onAudio = (e) => {
          if (e.streamIdx === 0) f(u64ToNumber(e.byteIdx) / LOOP_PAYLOAD);
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

/** Everything the emulator part measured. */
export type { PingResult };

export interface EmulatorBenchResult {
  /** Loopback board and raw echo, windows 1 and 4, in that order. */
  pings: PingResult[];
  /** The default format, then the standard one. */
  scaling: ScalingResult[];
}

/** Runs the emulator benchmarks, prints one table per part (one per scaling format) and returns the figures. */
export async function benchEmulator(): Promise<EmulatorBenchResult> {
  const pings: PingResult[] = [];
  for (const w of [1, 4]) {
    pings.push(await rawEcho(w));
    pings.push(await boardLoop(w));
  }
  console.log(
    `\nemulator: packets/s and round trip, ${POSTCARD_AUDIO_HEADER_BYTES + LOOP_PAYLOAD}-byte datagrams on 127.0.0.1 ` +
      `(${describeFormat(LOOP)}; raw echo = baseline of the same window)`,
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

  const scaling: ScalingResult[] = [];
  for (const c of SCALING) scaling.push(await scaleFormat(c));
  return { pings, scaling };
}
