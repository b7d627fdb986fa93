/**
 * The streaming parts of `make stress` and `make soak`: sessions with an emulated board (the real
 * firmware) through the seeded impairment layer, every byte accounted for by an independent
 * ledger (stress-ledger.ts) on each side of the layer.
 *
 * The board has two input streams: 0 its test pattern, 1 the loopback of output stream 1 (which
 * the client fills with its own pattern), so both directions cross the impaired link. For each
 * input stream, a session must show:
 * - every byte delivered by the receiver equals the pattern at its index (the session's content
 *   check, host/client/content.ts);
 * - the bytes the receiver padded are exactly those the ledger says a receiver must pad (gaps,
 *   and late reordered messages, which BEHAVIOUR.md drops), and delivered + padded covers the
 *   stream up to its furthest byte;
 * - the bytes the client reports lost are exactly the bytes the ledger never saw handed to the
 *   engine, each with its cause (dropped by the layer either way, not echoed, ...);
 * - and the achieved latency (first sample due -> arrival, p50/p99/max).
 *
 * - matrix: 0/1/5/20 % loss x reorder x jitter, STRESS_MATRIX_S (4) seconds each;
 * - soak: one session of STRESS_SOAK_S (120) seconds with loss, reordering and a Wi-Fi-like delay
 *   tail, sampled every SOAK_EVERY_S (10): the furthest byte index must follow the clock (no
 *   drift), host heap and the board's free JsVar blocks must stay flat. `make soak` runs this part
 *   alone for SOAK_S (1800) seconds.
 */

import { type RunResult, runSession, type Session } from "../host/client/session.js";
import type { Lan } from "../host/emulator/index.js";
import { type ImpairedTransport, type ImpairmentOptions, impair } from "../host/transport/impair.js";
import { TapTransport } from "../host/transport/tap.js";
import { openUdpTransport } from "../host/transport/udp.js";
import { byteRate, type Format } from "../shared/format.js";
import { Ledger, type LossCauses } from "./stress-ledger.js";
import {
  type BoardStatus,
  boards,
  envInt,
  heapMb,
  kernelDrops,
  type PartResult,
  say,
  sleep,
} from "./stress-support.js";

/** The streams' format: 48 kHz stereo I16 in 64-frame messages (256 bytes, 750 per second). */
const FORMAT: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I16" };
const STREAMS = {
  inputs: [
    { ...FORMAT, source: "pattern" },
    { ...FORMAT, source: "loopback" },
  ],
  outputs: [
    { ...FORMAT, sink: "discard" },
    { ...FORMAT, sink: "loopback" },
  ],
};
const LOOPBACK_STREAMS = [1];

/** What one accounted session showed, per input stream. */
interface StreamOutcome {
  readonly stream: number;
  readonly packets: number;
  readonly lostBytes: number;
  readonly lostPercent: number;
  readonly reordered: number;
  readonly duplicates: number;
  readonly causes: LossCauses & { total: number };
  readonly compared: number;
  readonly padded: number;
  readonly ledgerPadded: number;
  readonly furthest: number;
  readonly latency: { p50Ms: number; p99Ms: number; maxMs: number; packetMs: number };
  /** Violations of the accounting rules (empty when everything holds). */
  readonly problems: string[];
}

interface Outcome {
  readonly run: RunResult;
  readonly streams: StreamOutcome[];
  readonly layer: ImpairedTransport;
  readonly boardQueueDrops: number;
  readonly problems: string[];
}

/**
 * One session of `durationMs` with the board at `address:port` through an impairment layer with
 * `impairment` (both directions), accounted by a ledger. `during` is called every second of IO
 * with the session and the ledger (the soak samples drift and memory there).
 */
async function accountedSession(
  lan: Lan,
  port: number,
  impairment: Partial<ImpairmentOptions>,
  durationMs: number,
  during?: (session: Session, ledger: Ledger) => void,
): Promise<Outcome> {
  const board = lan.boards[0]!;
  const slots = Math.ceil(((durationMs + 15000) / 1000) * (byteRate(FORMAT) / 256)) + 1000;
  const ledger = new Ledger(STREAMS.inputs.length, LOOPBACK_STREAMS, slots);
  const udp = await openUdpTransport({ address: "127.0.0.1", port: 0 });
  let socketDrops = 0;
  const socket0 = kernelDrops(udp.localPort);
  const wire = new TapTransport(udp, {
    received: ledger.wireReceived,
    sent: ledger.wireSent,
    // Unknown without /proc/net/udp: then nothing missing at the socket is excused.
    closing: () => {
      const d = kernelDrops(udp.localPort);
      socketDrops = socket0 === undefined || d === undefined ? 0 : d - socket0;
    },
  });
  const layer = impair(wire, { ...impairment, direction: "both" });
  const app = new TapTransport(layer, { received: ledger.appReceived, sent: ledger.appSent });
  const drops0 = board.datagrams.droppedQueueFull;
  let timer: NodeJS.Timeout | undefined;
  const run = await runSession(
    {
      address: board.address,
      port,
      source: { kind: "pattern" },
      expect: { kind: "pattern" },
      transport: app,
    },
    {
      durationMs,
      connectTimeoutMs: 5000,
      onConnected: (s) => {
        if (during !== undefined) timer = setInterval(() => during(s, ledger), 1000);
      },
    },
  );
  if (timer !== undefined) clearInterval(timer);
  const problems: string[] = [];
  if (run.failure !== undefined) problems.push(`session failed: ${run.failure.message}`);
  if (ledger.undecodable > 0) problems.push(`${ledger.undecodable} datagrams did not decode`);
  const streams = run.report.inputs.map((input): StreamOutcome => {
    const l = ledger.streams[input.stream]!;
    const content = run.report.content.find((c) => c.stream === input.stream);
    const causes = l.causes();
    const p: string[] = [];
    const name = `in ${input.stream}`;
    if (l.oddSized > 0 || l.overflow > 0)
      p.push(`${name}: ${l.oddSized} odd-sized and ${l.overflow} unaccounted messages`);
    if (content === undefined) p.push(`${name}: no content check`);
    else {
      if (content.mismatched > 0)
        p.push(
          `${name}: ${content.mismatched} bytes differ from the pattern (first at ${content.firstMismatch?.byte})`,
        );
      if (content.padded !== l.padded)
        p.push(`${name}: the receiver padded ${content.padded} bytes, the ledger says ${l.padded}`);
      if (content.compared + content.padded !== l.furthest)
        p.push(
          `${name}: delivered ${content.compared} + padded ${content.padded} != ${l.furthest} bytes of stream`,
        );
    }
    if (input.lostBytes !== causes.total)
      p.push(`${name}: the client reports ${input.lostBytes} bytes lost, the ledger ${causes.total}`);
    // Senders that fall behind (an overloaded host) skip audio by design; anything else missing
    // before the socket must be the kernel's drops.
    const skippedByClient = run.report.outputs[input.stream]?.skippedBytes ?? 0;
    if (causes.notSent > skippedByClient)
      p.push(`${name}: ${causes.notSent} bytes never sent, the client skipped only ${skippedByClient}`);
    if (causes.isolatedNotAtSocket > socketDrops)
      p.push(
        `${name}: ${causes.isolatedNotAtSocket} isolated messages never reached the socket, the kernel dropped only ${socketDrops}`,
      );
    return {
      stream: input.stream,
      packets: input.packets,
      lostBytes: input.lostBytes,
      lostPercent: input.lostPercent,
      reordered: input.reordered,
      duplicates: input.duplicates,
      causes,
      compared: content?.compared ?? 0,
      padded: content?.padded ?? 0,
      ledgerPadded: l.padded,
      furthest: l.furthest,
      latency: input.latency,
      problems: p,
    };
  });
  for (const s of streams) problems.push(...s.problems);
  // A message the board did not echo must have been dropped at its full receive queue.
  const boardQueueDrops = board.datagrams.droppedQueueFull - drops0;
  for (const s of streams) {
    const notEchoed = s.causes.notEchoed / Math.max(1, ledger.streams[s.stream]?.payload ?? 1);
    if (notEchoed > boardQueueDrops)
      problems.push(
        `in ${s.stream}: ${notEchoed} messages not echoed, the board dropped only ${boardQueueDrops}`,
      );
  }
  if (streams.length !== STREAMS.inputs.length)
    problems.push(`${streams.length} input streams in the report`);
  return {
    run,
    streams,
    layer,
    boardQueueDrops,
    problems,
  };
}

const pct = (part: number, whole: number): string =>
  whole === 0 ? "0.00" : ((100 * part) / whole).toFixed(2);
const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "-");

/** One line per input stream: load, faults, what was lost and why, latency. */
function describeStreams(o: Outcome): string[] {
  return o.streams.map((s) => {
    const c = s.causes;
    const injected = c.droppedIn + c.droppedOut;
    return (
      `in${s.stream} ${String(s.packets).padStart(6)} pkts  lost ${pct(s.lostBytes, s.furthest).padStart(5)}% ` +
      `(layer ${pct(injected, s.furthest)}%` +
      (c.notEchoed > 0 ? `, not echoed ${pct(c.notEchoed, s.furthest)}%` : "") +
      (c.notAtSocket > 0
        ? `, not at the socket (late board or kernel) ${pct(c.notAtSocket, s.furthest)}%`
        : "") +
      (c.notSent > 0 ? `, skipped by the late client ${pct(c.notSent, s.furthest)}%` : "") +
      (c.outsideWindow > 0 ? `, outside IO ${c.outsideWindow} B` : "") +
      `)  padded ${pct(s.padded, s.furthest).padStart(5)}% (late-reordered ${s.padded - s.lostBytes} B)  ` +
      `latency p50/p99/max ${ms(s.latency.p50Ms)}/${ms(s.latency.p99Ms)}/${ms(s.latency.maxMs)} ms  ` +
      `${s.compared} B checked`
    );
  });
}

export async function partMatrix(): Promise<PartResult> {
  const P = "matrix";
  const problems: string[] = [];
  const seconds = envInt("STRESS_MATRIX_S", 4);
  const port = 53010;
  const { lan } = await boards(port, { maxClients: 2, maxStreamingClients: 2 }, 0, STREAMS);
  try {
    say(
      P,
      `each cell: ${seconds} s, 48 kHz stereo I16 in 256-byte messages (750/s) both ways; in0 = board's pattern, ` +
        "in1 = loopback of the client's out1 (both legs impaired); every received byte checked at its index",
    );
    let seed = 100;
    for (const loss of [0, 0.01, 0.05, 0.2]) {
      for (const reorder of [0, 0.05]) {
        for (const jitterMs of [0, 8]) {
          seed++;
          // Order-keeping jitter: reordering is its own axis (with independent delays, 8 ms of
          // jitter at 1.3 ms spacing would reorder most messages, and a receiver drops those).
          const o = await accountedSession(
            lan,
            port,
            { loss, reorder, jitterMs, keepOrder: true, seed },
            seconds * 1000,
          );
          const send = o.layer.stats.send;
          const recv = o.layer.stats.receive;
          say(
            P,
            `loss ${String(loss * 100).padStart(2)}% reorder ${reorder > 0 ? "on " : "off"} jitter ${jitterMs > 0 ? `${jitterMs}ms` : "off"}: ` +
              `layer out ${send.sent} dgrams (-${send.dropped}, ${send.reordered} reordered), in ${recv.sent} (-${recv.dropped}, ${recv.reordered} reordered); ` +
              `board queue drops ${o.boardQueueDrops}; ${o.run.failure === undefined ? "connected throughout" : `FAILED ${o.run.failure.kind}`}`,
          );
          for (const line of describeStreams(o)) say(P, `    ${line}`);
          for (const p of o.problems)
            problems.push(`loss ${loss} reorder ${reorder} jitter ${jitterMs}: ${p}`);
        }
      }
    }
  } finally {
    await lan.stop();
  }
  return { ok: problems.length === 0, problems };
}

/** The soak: one long session with loss, sampled for drift and memory. `seconds` from the caller. */
export async function soak(seconds: number, part: string): Promise<PartResult> {
  const problems: string[] = [];
  const every = Math.max(1, envInt("SOAK_EVERY_S", 10));
  const port = 53040;
  const { lan, status } = await boards(
    port,
    { maxClients: 2, maxStreamingClients: 2 },
    every * 1000,
    STREAMS,
  );
  const impairment: Partial<ImpairmentOptions> = {
    loss: 0.02,
    reorder: 0.01,
    jitterMs: 2,
    tailProbability: 0.002,
    tailScaleMs: 5,
    tailCapMs: 100,
    seed: 4242,
  };
  say(
    part,
    `${seconds} s of 48 kHz stereo I16 (750 messages/s each way) through 2 % loss, 1 % reordering, 2 ms jitter ` +
      `and a Pareto tail (0.2 %, up to 100 ms); a sample every ${every} s`,
  );
  interface Sample {
    t: number;
    drift: number[];
    heap: number;
    board: BoardStatus | undefined;
  }
  const samples: Sample[] = [];
  const rate = byteRate(FORMAT);
  let lastSample = 0;
  // Per stream, the highest (furthest byte in seconds of audio - time since Start(Ok)) seen in
  // the current sample's window: a stalled event loop lowers it for a moment (then the senders
  // skip to catch up), a drifting clock moves it for good; the maximum keeps only the latter.
  let windowDrift: number[] = [];
  try {
    const o = await accountedSession(lan, port, impairment, seconds * 1000, (session, ledger) => {
      const t = (session.client.now() - session.ioStartedMs) / 1000;
      if (!Number.isFinite(t)) return; // IO not started yet: no stream clock to compare with
      const now = ledger.streams.map((l) => l.furthest / rate - t);
      windowDrift = now.map((d, i) => Math.max(d, windowDrift[i] ?? Number.NEGATIVE_INFINITY));
      if (!(t >= lastSample + every)) return;
      lastSample = t;
      const drift = windowDrift;
      windowDrift = [];
      const s: Sample = { t, drift, heap: heapMb(), board: status() };
      samples.push(s);
      say(
        part,
        `${t.toFixed(0).padStart(5)} s  drift ${drift.map((d) => `${(d * 1000).toFixed(1)} ms`).join(" / ")}  ` +
          `host heap ${s.heap.toFixed(1)} MB  board free blocks ${s.board?.free ?? "?"}/${s.board?.total ?? "?"}`,
      );
    });
    for (const line of describeStreams(o)) say(part, line);
    say(
      part,
      `board queue drops ${o.boardQueueDrops}; ${o.run.failure === undefined ? "connected throughout" : `FAILED: ${o.run.failure.message}`}`,
    );
    problems.push(...o.problems);
    // After a warm-up sample, drift and memory must stay flat.
    const base = samples[1] ?? samples[0];
    const last = samples.at(-1);
    if (base === undefined || last === undefined || samples.length < 2) {
      problems.push(`only ${samples.length} samples: run longer than ${2 * every} s`);
    } else {
      base.drift.forEach((d0, i) => {
        const d1 = last.drift[i] ?? Number.NaN;
        // 20 ms: jitter and the tail move the furthest byte by a few messages, a drifting clock
        // by a fixed rate (1 ppm over 30 minutes is 1.8 ms; a wrong pacer is seconds).
        if (!(Math.abs(d1 - d0) < 0.02))
          problems.push(
            `in ${i}: byte indices drifted ${((d1 - d0) * 1000).toFixed(1)} ms against the clock`,
          );
      });
      if (last.heap - base.heap > 20)
        problems.push(
          `host heap grew ${(last.heap - base.heap).toFixed(1)} MB (${base.heap.toFixed(1)} -> ${last.heap.toFixed(1)})`,
        );
      if (base.board !== undefined && last.board !== undefined && base.board.free - last.board.free > 50)
        problems.push(`the board lost ${base.board.free - last.board.free} free JsVar blocks`);
      say(
        part,
        `flat: drift ${base.drift.map((d, i) => `${(((last.drift[i] ?? 0) - d) * 1000).toFixed(1)} ms`).join(" / ")} ` +
          `from ${base.t.toFixed(0)} s to ${last.t.toFixed(0)} s; host heap ${base.heap.toFixed(1)} -> ${last.heap.toFixed(1)} MB; ` +
          `board free blocks ${base.board?.free ?? "?"} -> ${last.board?.free ?? "?"}`,
      );
    }
  } finally {
    await lan.stop();
  }
  await sleep(10);
  return { ok: problems.length === 0, problems };
}

export function partSoak(): Promise<PartResult> {
  return soak(envInt("STRESS_SOAK_S", 120), "soak");
}
