/**
 * A CPU profile of loopback through one emulated board (the real build/firmware/syfala.js, config
 * as bench/emulator.ts's `loop`: 48 kHz stereo I16, 64-frame packets, 273-byte datagrams), next
 * to a raw node:dgram echo, with `window` datagrams in flight, as bench/emulator.ts measures them.
 *
 * The server (board or echo) runs in a child process, the client in this one, as in the bench.
 * After a warm-up both processes start the V8 profiler through node:inspector (sampling every
 * PROFILE_INTERVAL_US, default 100 us) and count CPU time (process.cpuUsage) and event-loop
 * utilisation for PROFILE_SECONDS (default 4); the profiles go to PROFILE_DIR (default
 * /tmp/prof) as `<server>-w<window>-<side>.cpuprofile`, and the summaries
 * (scripts/cpuprofile-summary.ts) are printed per packet. PROFILE=0 measures without the
 * profiler (its overhead). PROFILE_WINDOWS (default "1,4") selects the windows, PROFILE_SERVERS
 * (default "echo,board") the servers.
 *
 * Run: npx tsx scripts/profile-loopback.ts
 * Ports: 51500-51503 on 127.0.0.0/8 (the board at 127.0.0.2). Every wait is bounded.
 */

import { type ChildProcess, fork } from "node:child_process";
import dgram from "node:dgram";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type Lan, startBoards } from "../host/emulator/index.js";
import { type Format, frameSize } from "../shared/format.js";
import { type U64, u64ToNumber } from "../shared/u64.js";
import { POSTCARD_AUDIO_HEADER_BYTES, postcard } from "../shared/wire/postcard.js";
import { type EngineDriver, startDriver } from "../test/support/engine-driver.js";
import { type CpuProfile, formatSummary, type Summary, summarise } from "./cpuprofile-summary.js";

const CHILD_FLAG = "--profile-loopback-child";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIRMWARE = `${ROOT}build/firmware/syfala.js`;
const LOOP: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I16" };
const PAYLOAD = LOOP.bufferSize * frameSize(LOOP);
const CONFIG = {
  wifi: { ssid: "bench", password: "bench" },
  statusEveryMs: 0,
  inputs: [{ ...LOOP, source: "loopback" }],
  outputs: [{ ...LOOP, sink: "loopback" }],
};
const PORTS = { board: 51500, boardClient: 51501, echo: 51502, echoClient: 51503 };

const envNum = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? "");
  return process.env[name] === undefined || !Number.isFinite(v) ? fallback : v;
};
const SECONDS = envNum("PROFILE_SECONDS", 4);
const WARMUP_MS = 1000;
const INTERVAL_US = envNum("PROFILE_INTERVAL_US", 100);
const PROFILING = process.env.PROFILE !== "0";
const DIR = process.env.PROFILE_DIR ?? "/tmp/prof";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The V8 profiler of this process, through node:inspector. */
class Profiler {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post("Profiler.enable");
    await this.session.post("Profiler.setSamplingInterval", { interval: INTERVAL_US });
    await this.session.post("Profiler.start");
  }

  async stop(file: string): Promise<CpuProfile> {
    const r = await this.session.post("Profiler.stop");
    this.session.disconnect();
    const profile = r.profile as unknown as CpuProfile;
    mkdirSync(DIR, { recursive: true });
    writeFileSync(join(DIR, file), JSON.stringify(profile));
    return profile;
  }
}

/** CPU and wall time of a window of this process, and its event-loop utilisation. */
interface Usage {
  wallMs: number;
  userUs: number;
  systemUs: number;
  /** Event-loop utilisation (0..1): the share of the wall time not waiting in the poll phase. */
  elu: number;
  /** Context switches of the process (Linux; NaN elsewhere): it slept, or it was preempted. */
  voluntarySwitches: number;
  involuntarySwitches: number;
}

/** This process's context switches so far (all threads), from /proc; NaN where there is none. */
function switches(): { voluntary: number; involuntary: number } {
  let voluntary = 0;
  let involuntary = 0;
  try {
    for (const t of readdirSync("/proc/self/task")) {
      const st = readFileSync(`/proc/self/task/${t}/status`, "utf8");
      voluntary += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? Number.NaN);
      involuntary += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? Number.NaN);
    }
  } catch {
    return { voluntary: Number.NaN, involuntary: Number.NaN };
  }
  return { voluntary, involuntary };
}

function meter(): () => Usage {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const elu = performance.eventLoopUtilization();
  const cs = switches();
  return () => {
    const c = process.cpuUsage(cpu);
    const cs2 = switches();
    return {
      wallMs: performance.now() - wall,
      userUs: c.user,
      systemUs: c.system,
      elu: performance.eventLoopUtilization(elu).utilization,
      voluntarySwitches: cs2.voluntary - cs.voluntary,
      involuntarySwitches: cs2.involuntary - cs.involuntary,
    };
  };
}

// -------------------------------------------------------------------------------------------
// The child: one board in loopback, or a raw echo.

type ToChild = { type: "start"; label: string } | { type: "stop" };
type FromChild =
  | { type: "ready"; address: string }
  | { type: "done"; usage: Usage; packets: number; profile: string | undefined };

async function runChild(server: string): Promise<void> {
  const send = (m: FromChild): void => {
    process.send?.(m);
  };
  let lan: Lan | undefined;
  let echo: dgram.Socket | undefined;
  let echoed = 0;
  if (server === "echo") {
    const s = dgram.createSocket("udp4");
    echo = s;
    s.on("message", (msg, r) => {
      echoed++;
      s.send(msg, r.port, r.address);
    });
    await new Promise<void>((resolve) => s.bind(PORTS.echo, "127.0.0.1", () => resolve()));
    send({ type: "ready", address: "127.0.0.1" });
  } else {
    const l = await startBoards({
      count: 1,
      firmwarePath: FIRMWARE,
      config: { ...CONFIG, port: PORTS.board },
      wifiTiming: { connectDelayMs: 5, retryMs: 50 },
      inspectClosures: false,
    });
    lan = l;
    const end = Date.now() + 10000;
    while (!l.boards.every((b) => b.online) && Date.now() < end) await sleep(10);
    send({ type: "ready", address: l.boards[0]?.address ?? "" });
  }
  const sent = (): number => (lan === undefined ? echoed : (lan.boards[0]?.stats().datagrams.sent ?? 0));
  let profiler: Profiler | undefined;
  let label = "";
  let measure: (() => Usage) | undefined;
  let sent0 = 0;
  process.on("message", (m: ToChild) => {
    if (m.type === "start") {
      label = m.label;
      const go = (): void => {
        sent0 = sent();
        measure = meter();
      };
      if (PROFILING) {
        profiler = new Profiler();
        void profiler.start().then(go);
      } else go();
      return;
    }
    const usage = measure?.() ?? {
      wallMs: 0,
      userUs: 0,
      systemUs: 0,
      elu: 0,
      voluntarySwitches: 0,
      involuntarySwitches: 0,
    };
    const packets = sent() - sent0;
    const file = `${label}-server.cpuprofile`;
    void (profiler?.stop(file) ?? Promise.resolve(undefined))
      .then(async (p) => {
        echo?.close();
        await lan?.stop();
        send({ type: "done", usage, packets, profile: p === undefined ? undefined : join(DIR, file) });
        setTimeout(() => process.exit(0), 50);
      })
      .catch((e: unknown) => {
        console.error(e);
        process.exit(1);
      });
  });
}

// -------------------------------------------------------------------------------------------
// The parent: the client.

class Child {
  private readonly proc: ChildProcess;
  private readonly inbox: FromChild[] = [];

  constructor(server: string) {
    this.proc = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, server], {
      cwd: ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.proc.on("message", (m: unknown) => {
      if (typeof m === "object" && m !== null && "type" in m) this.inbox.push(m as FromChild);
    });
  }

  async next<T extends FromChild["type"]>(type: T, maxMs: number): Promise<Extract<FromChild, { type: T }>> {
    const end = performance.now() + maxMs;
    while (performance.now() < end) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<FromChild, { type: T }>;
      await sleep(5);
    }
    this.proc.kill("SIGKILL");
    throw new Error(`no "${type}" from the child within ${maxMs} ms`);
  }

  tell(m: ToChild): void {
    this.proc.send(m);
  }
}

/** One measured window: throughput, latency, and each side's CPU and profile. */
interface Run {
  server: string;
  window: number;
  packetsPerSec: number;
  p50: number;
  p99: number;
  /** Round trips completed in the measured window (the client's count). */
  packets: number;
  client: Usage;
  server_: Usage;
  serverPackets: number;
  clientProfile: Summary | undefined;
  serverProfile: Summary | undefined;
}

/** A client for the server: `send(seq)` and a hook for what comes back; `close()`. */
interface Client {
  send(seq: number): void;
  onReturn(f: (seq: number) => void): void;
  close(): void;
}

async function echoClient(): Promise<Client> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(PORTS.echoClient, "127.0.0.1", () => resolve()));
  const size = POSTCARD_AUDIO_HEADER_BYTES + PAYLOAD;
  return {
    send: (seq) => {
      const buf = Buffer.alloc(size);
      buf.writeUInt32LE(seq, 0);
      sock.send(buf, PORTS.echo, "127.0.0.1");
    },
    onReturn: (f) => sock.on("message", (m: Buffer) => f(m.readUInt32LE(0))),
    close: () => sock.close(),
  };
}

async function boardClient(address: string): Promise<Client> {
  const d: EngineDriver = await startDriver(
    { address: "127.0.0.1", port: PORTS.boardClient },
    { codecs: { postcard }, targets: [{ address, port: PORTS.board }], maxServers: 1 },
  );
  d.act((e, now) => e.startDiscovery(now));
  await d.until(() => d.engine.connectedCount >= 1, 10000, "board connected");
  d.act((e) => e.stopDiscovery());
  const peer = `${address}:${PORTS.board}`;
  d.act((e, now) => e.startIO(peer, now));
  await d.until(() => d.engine.ioPhase(peer) === "started", 5000, "IO started");
  const payload = new Uint8Array(PAYLOAD).fill(0x5a);
  const idx: U64 = { hi: 0, lo: 0 };
  return {
    send: (seq) => {
      const at = seq * PAYLOAD;
      idx.hi = Math.floor(at / 4294967296);
      idx.lo = at >>> 0;
      d.sendAudio(peer, 0, idx, payload);
    },
    onReturn: (f) => {
      d.onAudio = (e) => {
        if (e.streamIdx === 0) f(u64ToNumber(e.byteIdx) / PAYLOAD);
      };
    },
    close: () => d.close(),
  };
}

async function measure(server: string, window: number): Promise<Run> {
  const child = new Child(server);
  const ready = await child.next("ready", 30000);
  const client = server === "echo" ? await echoClient() : await boardClient(ready.address);
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let seq = 0;
  let back = 0;
  let running = true;
  let counting = false;
  const fire = (): void => {
    const s = seq++;
    sentAt.set(s, performance.now());
    client.send(s);
  };
  client.onReturn((s) => {
    const t = sentAt.get(s);
    if (t === undefined) return;
    sentAt.delete(s);
    if (counting) {
      back++;
      rtts.push(performance.now() - t);
    }
    if (running) fire();
  });
  const label = `${server}-w${window}`;
  let result: Run | undefined;
  try {
    for (let i = 0; i < window; i++) fire();
    const refill = setInterval(() => {
      const now = performance.now();
      for (const [s, t] of sentAt) {
        if (now - t > 100) {
          sentAt.delete(s);
          if (running) fire();
        }
      }
    }, 50);
    await sleep(WARMUP_MS);
    child.tell({ type: "start", label });
    await sleep(100); // the child's profiler is started
    const profiler = PROFILING ? new Profiler() : undefined;
    await profiler?.start();
    const usage = meter();
    counting = true;
    await sleep(SECONDS * 1000);
    counting = false;
    const client_ = usage();
    child.tell({ type: "stop" });
    const clientProfile = await profiler?.stop(`${label}-client.cpuprofile`);
    running = false;
    clearInterval(refill);
    const done = await child.next("done", 30000);
    const { readProfile } = await import("./cpuprofile-summary.js");
    rtts.sort((a, b) => a - b);
    const pct = (p: number): number =>
      rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? Number.NaN;
    result = {
      server,
      window,
      packetsPerSec: back / (client_.wallMs / 1000),
      p50: pct(0.5),
      p99: pct(0.99),
      packets: back,
      client: client_,
      server_: done.usage,
      serverPackets: done.packets,
      clientProfile: clientProfile === undefined ? undefined : summarise(clientProfile),
      serverProfile: done.profile === undefined ? undefined : summarise(readProfile(done.profile)),
    };
  } finally {
    running = false;
    client.close();
  }
  return result;
}

const us = (v: number): string => v.toFixed(1).padStart(7);

/** The (a)-(f) breakdown of a server profile, per packet. */
function breakdown(s: Summary, packets: number): Record<string, number> {
  const p = (x: number): number => x / Math.max(packets, 1);
  return {
    "(a) node UDP": p(s.self["node-udp"]),
    "(b) shim+conv": p(s.self["emu-convert"] + s.self["emu-shim"]),
    "   of which conversions": p(s.self["emu-convert"]),
    "(c) loop model": p(s.self["emu-loop"] + s.self["node-loop"]),
    "(d) firmware": p(s.self.firmware),
    "(e) GC": p(s.self.gc),
    "(program)": p(s.self.program),
    "other JS": p(s.self["node-other"] + s.self["emu-other"] + s.self.client + s.self.other),
    "(f) idle": p(s.self.idle),
  };
}

async function main(): Promise<void> {
  const windows = (process.env.PROFILE_WINDOWS ?? "1,4").split(",").map(Number);
  const servers = (process.env.PROFILE_SERVERS ?? "echo,board").split(",");
  const runs: Run[] = [];
  for (const w of windows) {
    for (const s of servers) {
      const r = await measure(s, w);
      runs.push(r);
      const perPkt = (u: Usage, n: number): string =>
        `user ${us(u.userUs / Math.max(n, 1))} sys ${us(u.systemUs / Math.max(n, 1))} us/packet, event loop busy ${(100 * u.elu).toFixed(0)} %, ` +
        `context switches/packet ${(u.voluntarySwitches / Math.max(n, 1)).toFixed(2)} slept + ${(u.involuntarySwitches / Math.max(n, 1)).toFixed(2)} preempted`;
      console.log(
        `\n=== ${s} window ${w}: ${r.packetsPerSec.toFixed(0)} packets/s, rtt p50 ${r.p50.toFixed(3)} ms p99 ${r.p99.toFixed(3)} ms (${r.packets} round trips)`,
      );
      console.log(`server CPU: ${perPkt(r.server_, r.serverPackets)} (${r.serverPackets} sent)`);
      console.log(`client CPU: ${perPkt(r.client, r.packets)}`);
      if (r.serverProfile !== undefined) {
        console.log(`--- server profile\n${formatSummary(r.serverProfile, r.serverPackets)}`);
      }
      if (r.clientProfile !== undefined) {
        console.log(`--- client profile\n${formatSummary(r.clientProfile, r.packets, 10)}`);
      }
    }
  }
  if (!PROFILING) return;
  console.log("\nserver side, us per reflected packet (self time by category):");
  const cols = runs.filter((r) => r.serverProfile !== undefined);
  console.log(`${"".padEnd(26)}${cols.map((r) => `${r.server} w${r.window}`.padStart(11)).join("")}`);
  const rows = cols.map((r) => breakdown(r.serverProfile as Summary, r.serverPackets));
  for (const k of Object.keys(rows[0] ?? {})) {
    console.log(`${k.padEnd(26)}${rows.map((row) => (row[k] ?? 0).toFixed(1).padStart(11)).join("")}`);
  }
  console.log(
    `${"1 / (packets/s)".padEnd(26)}${cols.map((r) => (1e6 / r.packetsPerSec).toFixed(1).padStart(11)).join("")}`,
  );
}

if (process.argv[2] === CHILD_FLAG) await runChild(process.argv[3] ?? "board");
else await main();
