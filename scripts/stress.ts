/**
 * `make stress`: bounded stress parts against emulated boards running the real firmware
 * (build/firmware/syfala.js), all traffic on 127.0.0.0/8. Each part prints the load it held, the
 * faults it injected and what was lost, and fails (exit code 1) when the protocol lost what it
 * must not. Select parts with STRESS_PARTS=fuzz,matrix,churn,clients,soak (default: all).
 *
 * - fuzz: random and mutated datagrams at a board (STRESS_FUZZ_BOARD, default 1,000,000, paced
 *   in bursts of 6, its socket queue's size, at about 15,000/s) and at a streaming client
 *   (STRESS_FUZZ, default 2,000,000); the session must stay up, the board must still answer
 *   Discovery, and the counters must account for every datagram sent.
 * - matrix: 0/1/5/20 % loss x reorder x jitter, one session each (STRESS_MATRIX_S, 4 s) through
 *   the seeded impairment layer, every byte accounted for (scripts/stress-stream.ts).
 * - churn: STRESS_CHURN (1,000) connect/start/stop/disconnect cycles, plus clients vanishing
 *   without Disconnect; afterwards the board's client table is empty again and memory is bounded.
 * - clients: the configured limits hold: a client beyond maxClients gets no offer, one beyond
 *   maxStreamingClients gets Start(Err), and the streaming clients lose nothing meanwhile.
 * - soak: STRESS_SOAK_S (120) seconds of streaming with loss: no drift in byte indices, no memory
 *   growth (scripts/stress-stream.ts). `make soak` runs it alone for SOAK_S (1800) seconds.
 *
 * Run: node --expose-gc --import tsx scripts/stress.ts (the Makefile does).
 */

import dgram from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { discover } from "../host/client/discover.js";
import { runSession, Session } from "../host/client/session.js";
import { Xoshiro128 } from "../host/transport/prng.js";
import { openUdpTransport } from "../host/transport/udp.js";
import { hostCodec } from "../host/wire/codecs.js";
import { detectCodec } from "../shared/wire/codec.js";
import { partMatrix, partSoak } from "./stress-stream.js";
import {
  type BoardStatus,
  boards,
  envInt,
  FIRMWARE,
  heapMb,
  kernelDrops,
  type PartResult,
  ROOT,
  say,
  sleep,
  waitStatus,
  yieldLoop,
} from "./stress-support.js";

/** The golden vectors' datagrams (postcard) of one side: seeds of the mutations. */
function corpus(side: "client" | "server"): Uint8Array[] {
  const data = JSON.parse(readFileSync(join(ROOT, "test/vectors/messages.json"), "utf8")) as {
    messages: { side: string; postcard?: string }[];
  };
  const out: Uint8Array[] = [];
  for (const m of data.messages) {
    if (m.side === side && typeof m.postcard === "string")
      out.push(new Uint8Array(Buffer.from(m.postcard, "hex")));
  }
  return out;
}

/** Datagram `i` of a fuzz run: one in four random bytes, the rest a mutated real message. */
function fuzzDatagram(rng: Xoshiro128, seeds: readonly Uint8Array[]): Uint8Array {
  const kind = rng.nextUint32() & 3;
  if (kind === 0 || seeds.length === 0) {
    const b = new Uint8Array(1 + (rng.nextUint32() % 300));
    for (let j = 0; j < b.length; j++) b[j] = rng.nextUint32() & 0xff;
    return b;
  }
  const seed = seeds[rng.nextUint32() % seeds.length] as Uint8Array;
  let b: Uint8Array = seed.slice();
  if (kind === 1 && b.length > 0) {
    // Bit flips.
    const flips = 1 + (rng.nextUint32() % 4);
    for (let f = 0; f < flips; f++) {
      const at = rng.nextUint32() % b.length;
      b[at] = (b[at] as number) ^ (1 << (rng.nextUint32() & 7));
    }
  } else if (kind === 2) {
    // Truncation or extension with random bytes.
    const len = rng.nextUint32() % (b.length + 16);
    const c = new Uint8Array(Math.max(1, len));
    c.set(b.subarray(0, Math.min(b.length, c.length)));
    for (let j = b.length; j < c.length; j++) c[j] = rng.nextUint32() & 0xff;
    b = c;
  } else if (b.length > 0) {
    // Random bytes overwritten after the first (the variant tag kept).
    for (let j = 1; j < b.length; j++) if ((rng.nextUint32() & 3) === 0) b[j] = rng.nextUint32() & 0xff;
  }
  return b;
}

/** Sends `count` fuzz datagrams from one socket to `port` at `address`, `batch` per turn of the loop. */
async function fuzzAt(
  address: string,
  port: number,
  count: number,
  seeds: readonly Uint8Array[],
  seed: number,
  batch: number,
  sleepEvery: number,
  classify?: (data: Uint8Array) => void,
): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  const rng = new Xoshiro128(seed);
  let sent = 0;
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const data = fuzzDatagram(rng, seeds);
    if (classify !== undefined) classify(data);
    socket.send(data, port, address, (err) => {
      if (err) errors++;
    });
    sent++;
    if (i % batch === batch - 1) {
      // A turn of the event loop after each batch; every `sleepEvery` batches a timer's turn too
      // (1 ms), so the receiver's timers (heartbeats, pacers) keep running under the flood.
      const b = (i + 1) / batch;
      if (sleepEvery > 0 && b % sleepEvery === 0) await sleep(1);
      else await yieldLoop();
    }
  }
  await sleep(200);
  await new Promise<void>((r) => socket.close(() => r()));
  return sent - errors;
}

async function partFuzz(): Promise<PartResult> {
  const P = "fuzz";
  const problems: string[] = [];
  const nClient = envInt("STRESS_FUZZ", 2_000_000);
  const nBoard = envInt("STRESS_FUZZ_BOARD", 1_000_000);
  const port = 53000;
  const clientPort = 53001;
  const { lan } = await boards(port, { maxClients: 2, maxStreamingClients: 2 }, 0);
  const board = lan.boards[0]!;
  try {
    const abort = new AbortController();
    let session: Session | undefined;
    const run = runSession(
      {
        address: board.address,
        port,
        source: { kind: "pattern" },
        bindAddress: "127.0.0.1",
        bindPort: clientPort,
      },
      {
        durationMs: 30 * 60 * 1000,
        connectTimeoutMs: 5000,
        signal: abort.signal,
        onOpen: (s) => {
          session = s;
        },
      },
    );
    const started = Date.now() + 10000;
    while ((session === undefined || session.phase !== "started") && Date.now() < started) await sleep(20);
    if (session === undefined || session.phase !== "started") {
      abort.abort();
      await run;
      return {
        ok: false,
        problems: [`the session did not start streaming (phase ${session?.phase ?? "none"})`],
      };
    }
    const engine = session.client.engine;
    const before = { ...engine.stats };
    let sessionOut0 = 0;
    const drops0 = kernelDrops(clientPort);
    const t0 = performance.now();

    // At the client: as fast as the loop lets the same process receive them.
    // A fuzz datagram that decodes as a Connect offer goes to the accept policy (which must
    // refuse it: it is not the session's server), not to the stranger counters: count those here.
    let offers = 0;
    const classify = (data: Uint8Array): void => {
      const d = hostCodec(detectCodec(data, 0)).server.decode(data, 0);
      if (d.ok && d.message.type === "connect") offers++;
    };
    const sentClient = await fuzzAt("127.0.0.1", clientPort, nClient, corpus("server"), 1, 8, 0, classify);
    const tClient = (performance.now() - t0) / 1000;
    const drops1 = kernelDrops(clientPort);
    const dropped = drops0 === undefined || drops1 === undefined ? 0 : drops1 - drops0;
    const fromUnknown = engine.stats.fromUnknown - before.fromUnknown;
    const badFromUnknown = engine.stats.badFromUnknown - before.badFromUnknown;
    say(
      P,
      `client: ${sentClient} datagrams in ${tClient.toFixed(1)} s (${Math.round(sentClient / tClient)}/s); ` +
        `engine counted ${fromUnknown} from strangers (${badFromUnknown} undecodable, ` +
        `${fromUnknown - badFromUnknown} decodable but ignored), ${offers} were Connect offers (refused, ` +
        `connected servers: ${engine.connectedCount}); the kernel dropped ${dropped} at the ` +
        `client's full receive buffer${drops0 === undefined ? " (unknown: no /proc/net/udp)" : ""}, the board's audio among them`,
    );
    // The kernel's drops include some of the board's audio: the missing fuzz datagrams must fit in them.
    const missing = sentClient - fromUnknown - offers;
    if (missing < 0 || missing > dropped) {
      problems.push(
        `client: ${missing} fuzz datagrams not accounted for by the engine's counters (kernel drops ${dropped})`,
      );
    }

    // At the board: paced, the emulated ESP32 is slow.
    sessionOut0 = session.client.engine.peerStats(session.server)?.datagramsOut ?? 0;
    const boardBefore = { ...board.datagrams };
    const t1 = performance.now();
    const sentBoard = await fuzzAt(board.address, port, nBoard, corpus("client"), 2, 6, 4);
    const tBoard = (performance.now() - t1) / 1000;
    const d = board.datagrams;
    const received = d.received - boardBefore.received;
    const queueFull = d.droppedQueueFull - boardBefore.droppedQueueFull;
    const truncated = d.truncated - boardBefore.truncated;
    const session1 = session;
    // The session's own datagrams reach the board's socket too: the difference of its counter.
    const sessionOut = (session1.client.engine.peerStats(session1.server)?.datagramsOut ?? 0) - sessionOut0;
    const unaccounted = sentBoard + sessionOut - received - queueFull;
    say(
      P,
      `board: ${sentBoard} datagrams in ${tBoard.toFixed(1)} s (${Math.round(sentBoard / tBoard)}/s); ` +
        `its socket took ${received} (${sessionOut} of them the session's), dropped ${queueFull} on a full queue, ` +
        `truncated ${truncated}; unaccounted ${unaccounted}`,
    );
    // A few of the session's datagrams may be in flight when the counters are read.
    if (Math.abs(unaccounted) > 3) {
      problems.push(`board: ${unaccounted} fuzz datagrams neither received nor counted as dropped`);
    }

    const phase = session1.phase;
    const connectedAfter = engine.connectedCount;
    const peer = session1.client.engine.peerStats(session1.server);
    const servers = await discover({ targets: [{ address: board.address, port }], timeoutMs: 1500 });
    abort.abort();
    const r = await run;
    const input = r.report.inputs[0];
    say(
      P,
      `after: session ${phase}, failure ${r.failure?.kind ?? "none"}, peer bad ${peer?.bad ?? "?"}; ` +
        `board answers discovery: ${servers.length === 1 ? "yes" : "NO"}; audio ${input?.packets ?? 0} packets, ` +
        `lost ${input?.lostBytes ?? 0} bytes, reordered ${input?.reordered ?? 0}, duplicates ${input?.duplicates ?? 0}`,
    );
    if (connectedAfter !== 1) problems.push(`the client is connected to ${connectedAfter} servers, not 1`);
    if (phase !== "started") problems.push(`the session's phase changed to ${phase}`);
    if (r.failure !== undefined) problems.push(`the session failed: ${r.failure.message}`);
    if (servers.length !== 1) problems.push("the board no longer answers discovery");
    if ((peer?.bad ?? 0) !== 0)
      problems.push(`the connected peer counted ${peer?.bad} bad datagrams (none came from it)`);
  } finally {
    await lan.stop();
  }
  return { ok: problems.length === 0, problems };
}

async function partChurn(): Promise<PartResult> {
  const P = "churn";
  const problems: string[] = [];
  const cycles = envInt("STRESS_CHURN", 1000);
  const vanishing = envInt("STRESS_VANISH", 20);
  const port = 53020;
  // A status line every 2 s (each walks the board's heap in the emulator: a 20-50 ms stall).
  const { lan, status } = await boards(port, { maxClients: 4, maxStreamingClients: 4 }, 2000);
  const board = lan.boards[0]!;
  try {
    // The baseline comes after a warm-up (the first connections allocate lazily), from a status
    // line logged once those clients were gone.
    const warm = Math.min(20, cycles);
    let start: BoardStatus | undefined;
    let heap0 = heapMb();
    const t0 = performance.now();
    let failures = 0;
    for (let i = 0; i < cycles; i++) {
      const r = await runSession(
        { address: board.address, port, source: { kind: "pattern" } },
        { durationMs: 30, connectTimeoutMs: 3000 },
      );
      if (r.failure !== undefined) {
        failures++;
        if (failures <= 5) problems.push(`cycle ${i}: ${r.failure.message}`);
      }
      if (i === warm - 1) {
        const after = Date.now();
        start = await waitStatus(status, (st) => st.at > after && st.clients === 0, 5000);
        heap0 = heapMb();
      }
      if (i % 100 === 99) say(P, `${i + 1} cycles, ${failures} failed, heap ${heapMb().toFixed(1)} MB`);
    }
    const tCycles = (performance.now() - t0) / 1000;
    // Clients that vanish: connected and streaming, then their socket closes without Disconnect.
    for (let i = 0; i < vanishing; i++) {
      const transport = await openUdpTransport({ address: "127.0.0.1", port: 0 });
      const s = await Session.open({ address: board.address, port, source: { kind: "pattern" }, transport });
      try {
        await s.connect(3000);
        await s.startIO();
        await sleep(20);
      } catch (e) {
        problems.push(`vanishing client ${i}: ${e instanceof Error ? e.message : String(e)}`);
      }
      transport.close();
      s.close();
    }
    // The board times them out after 600 ms; its status line comes every 2 s.
    const vanishedAt = Date.now();
    await sleep(1000);
    const end = await waitStatus(
      status,
      (st) => st.at > vanishedAt + 700 && st.clients === 0 && st.streaming === 0,
      6000,
    );
    const heap1 = heapMb();
    say(
      P,
      `${cycles} cycles in ${tCycles.toFixed(1)} s (${((tCycles * 1000) / Math.max(1, cycles)).toFixed(0)} ms each), ` +
        `${failures} failed; ${vanishing} clients vanished without Disconnect`,
    );
    say(
      P,
      `board: clients ${end?.clients ?? "?"} streaming ${end?.streaming ?? "?"} after (0 expected); ` +
        `free blocks ${start?.free ?? "?"} after ${warm} warm-up cycles, ${end?.free ?? "?"} at the end (of ${end?.total ?? "?"}); ` +
        `host heap ${heap0.toFixed(1)} MB before, ${heap1.toFixed(1)} MB after`,
    );
    if (failures > 0) problems.push(`${failures} of ${cycles} cycles failed`);
    if (end === undefined || end.clients !== 0 || end.streaming !== 0)
      problems.push("the board's client table is not empty");
    if (start !== undefined && end !== undefined && start.free - end.free > 50) {
      problems.push(`the board lost ${start.free - end.free} free blocks`);
    }
    if (heap1 - heap0 > 30) problems.push(`host heap grew by ${(heap1 - heap0).toFixed(1)} MB`);
  } finally {
    await lan.stop();
  }
  return { ok: problems.length === 0, problems };
}

async function partClients(): Promise<PartResult> {
  const P = "clients";
  const problems: string[] = [];
  const port = 53030;
  const maxClients = 3;
  const maxStreaming = 2;
  const { lan } = await boards(port, { maxClients, maxStreamingClients: maxStreaming }, 0);
  const board = lan.boards[0]!;
  try {
    const streaming = [0, 1].map(() =>
      runSession(
        { address: board.address, port, source: { kind: "pattern" } },
        { durationMs: 6000, connectTimeoutMs: 3000 },
      ),
    );
    // Both streaming (connect and start take a few round trips).
    await sleep(1500);
    // One more client connects (room for it) but may not stream: Start(Err).
    const third = await runSession(
      { address: board.address, port, source: { kind: "pattern" } },
      { durationMs: 500, connectTimeoutMs: 3000 },
    );
    say(
      P,
      `client ${maxStreaming + 1} (beyond maxStreamingClients ${maxStreaming}): ${third.failure?.kind ?? "streamed"}`,
    );
    if (third.failure?.kind !== "ioFailed")
      problems.push(`a client beyond maxStreamingClients got ${third.failure?.kind ?? "IO"}`);
    // Fill the table with a connected, idle client; the next one gets no offer.
    const holder = await Session.open({ address: board.address, port });
    try {
      await holder.connect(3000);
      const extra = await runSession(
        { address: board.address, port },
        { durationMs: 500, connectTimeoutMs: 1500 },
      );
      say(
        P,
        `client ${maxClients + 1} (beyond maxClients ${maxClients}): ${extra.failure?.kind ?? "connected"}`,
      );
      if (extra.failure?.kind !== "noAnswer")
        problems.push(`a client beyond maxClients got ${extra.failure?.kind ?? "a connection"}`);
    } catch (e) {
      problems.push(`the idle client could not connect: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      holder.close();
    }
    const results = await Promise.all(streaming);
    results.forEach((r, i) => {
      const input = r.report.inputs[0];
      say(
        P,
        `streaming client ${i}: ${r.failure?.kind ?? "ok"}, ${input?.packets ?? 0} packets, lost ${input?.lostBytes ?? 0} bytes, ` +
          `reordered ${input?.reordered ?? 0}`,
      );
      if (r.failure !== undefined) problems.push(`streaming client ${i} failed: ${r.failure.message}`);
      if ((input?.lostBytes ?? 0) > 0)
        problems.push(`streaming client ${i} lost ${input?.lostBytes} bytes while others were refused`);
    });
  } finally {
    await lan.stop();
  }
  return { ok: problems.length === 0, problems };
}

const PARTS: Record<string, () => Promise<PartResult>> = {
  fuzz: partFuzz,
  matrix: partMatrix,
  churn: partChurn,
  clients: partClients,
  soak: partSoak,
};

async function main(): Promise<number> {
  if (!existsSync(FIRMWARE)) {
    process.stderr.write(`${FIRMWARE} is missing: run 'make firmware' first\n`);
    return 2;
  }
  const wanted = (process.env.STRESS_PARTS ?? Object.keys(PARTS).join(","))
    .split(",")
    .filter((s) => s !== "");
  let failed = 0;
  const t0 = performance.now();
  for (const name of wanted) {
    const part = PARTS[name];
    if (part === undefined) {
      process.stderr.write(`unknown part '${name}' (parts: ${Object.keys(PARTS).join(", ")})\n`);
      return 2;
    }
    const t = performance.now();
    say(name, "start");
    let result: PartResult;
    try {
      result = await part();
    } catch (e) {
      result = {
        ok: false,
        problems: [`crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`],
      };
    }
    const s = ((performance.now() - t) / 1000).toFixed(1);
    for (const p of result.problems) say(name, `PROBLEM: ${p}`);
    say(name, `${result.ok ? "PASS" : "FAIL"} in ${s} s`);
    if (!result.ok) failed++;
  }
  say(
    "stress",
    `${wanted.length - failed}/${wanted.length} parts passed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
