/**
 * A session with one server: connect (unicast Discovery to it, the accept policy refusing an
 * offer whose formats do not suit what the user asked for), start IO, stream both ways, stop IO,
 * disconnect; with per-stream statistics, recordings, the playout model, round-trip times and the
 * loopback check (streams.ts), and a report at the end.
 *
 * ```ts
 * const { report, failure } = await runSession(
 *   { address: "127.0.0.2", port: 6910, source: { kind: "pattern" }, record: "take.wav" },
 *   { durationMs: 5000, connectTimeoutMs: 3000 },
 * );
 * ```
 *
 * Formats are known only once the server offers a connection, so a request it cannot satisfy (a
 * WAV file of another format, a stream a WAV cannot hold) is checked then: the offer is answered
 * `ConnectionResult(Err(Refusal))` and the session fails with the reason, before any audio.
 * Interrupting (an AbortSignal: Ctrl-C) stops IO and disconnects; recordings can be finished
 * synchronously from a signal handler with {@link Session.finishRecordings}.
 */

import { MAX_DATAGRAM } from "../../shared/audio/sender.js";
import type { ClientEvent } from "../../shared/endpoint/events.js";
import type { PeerStats } from "../../shared/endpoint/peer-stats.js";
import { streamReceiversTo } from "../../shared/endpoint/stream-receivers.js";
import { peerKey } from "../../shared/endpoint/transmit.js";
import type { Format, StreamFormats } from "../../shared/format.js";
import type { Codec, CodecName } from "../../shared/wire/codec.js";
import { formatDuration } from "../duration-text.js";
import { WavError, wavLayout } from "../media/wav.js";
import { hostCodec } from "../wire/codecs.js";
import { Client, type ClientRuntimeOptions, type Ticker } from "./client.js";
import { type ContentVerdict, describeContent } from "./content.js";
import { DEFAULT_MIN_DELIVERED_PERCENT, deliveryProblems } from "./delivery.js";
import { describeStreamFormat } from "./describe.js";
import { DEFAULT_TARGET_LATENCY_MS } from "./jitter.js";
import { describeVerdict, type LoopbackVerdict } from "./loopback.js";
import { createSource, type SourceSpec, sameSignal, sourceProblem } from "./sources.js";
import { type LatencySnapshot, type RttSnapshot, RttTracker, type StreamStatsSnapshot } from "./stats.js";
import { InputStream, OutputStream } from "./streams.js";

/** Options of a {@link Session}. */
export interface SessionOptions
  extends Pick<
    ClientRuntimeOptions,
    "codec" | "bindAddress" | "bindPort" | "impairment" | "transport" | "timing"
  > {
  /** The server's IPv4 address. */
  readonly address: string;
  /** The server's UDP port. */
  readonly port: number;
  /** What to send on every output stream. Defaults to silence. */
  readonly source?: SourceSpec;
  /** Record every input stream: input 0 to this path, input i > 0 to {@link recordPath}. */
  readonly record?: string;
  /** Target latency of the playout model (ms). Defaults to 20. */
  readonly latencyMs?: number;
  /** Require a stream pair to check (refuse the offer otherwise); the verdict is in the report. */
  readonly checkLoopback?: boolean;
  /**
   * What every input stream carries (`pattern`: the server's test pattern, stream index s): each
   * byte the receiver delivers is compared with it at its index and padding is counted; the
   * verdicts are in the report's `content`. Only the pattern: a server's tone depends on its
   * table and rounding (firmware/audio/source.ts), which a client cannot know.
   */
  readonly expect?: { readonly kind: "pattern" };
  /**
   * The least share (percent) of its due bytes each input stream must deliver in time, else
   * the run reports a delivery problem (delivery.ts). Defaults to
   * DEFAULT_MIN_DELIVERED_PERCENT (90); 0 turns the check off.
   */
  readonly minDeliveredPercent?: number;
}

/** Why a session failed. */
export type SessionFailureKind =
  /** No offer from the server in time. */
  | "noAnswer"
  /** We refused its offer: its formats do not suit the request. */
  | "refused"
  /** Start IO failed (refused, busy, or no answer). */
  | "ioFailed"
  /** The server went silent (600 ms) or disconnected us. */
  | "lost"
  /** A recording could not be written. */
  | "recording";

/** A failed session: `message` is one line for the user. */
export class SessionError extends Error {
  override readonly name = "SessionError";
  constructor(
    readonly kind: SessionFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** Where input stream `index` is recorded when the user asked for `base`: base itself for input 0, "name.in1.wav"... for the others. */
export function recordPath(base: string, index: number): string {
  if (index === 0) return base;
  const dot = base.toLowerCase().endsWith(".wav") ? base.length - 4 : base.length;
  return `${base.slice(0, dot)}.in${index}${base.slice(dot)}`;
}

/** The longest audio header (bytes) `codec` writes for a client: what a message's payload leaves room for. */
export function maxAudioHeaderBytes(codec: Codec): number {
  return codec.client.encodingLength({
    type: "audio",
    header: { streamIdx: 0xffffffff, byteIdx: { hi: 0xffffffff, lo: 0xffffffff }, nBytes: MAX_DATAGRAM },
  });
}

/** One input stream in the report. */
export interface InputReport extends StreamStatsSnapshot {
  readonly stream: number;
  readonly format: Format;
  /** Stream bytes up to the furthest one received (the next expected byte index). */
  readonly streamBytes: number;
  /** Lost bytes as a percentage of the stream bytes up to the furthest one received. */
  readonly lostPercent: number;
  /** Achieved latency of the messages (ms from their first sample's due time to arrival). */
  readonly latency: LatencySnapshot;
  /** The recording's path and frames, when recorded. */
  readonly recording: { readonly path: string; readonly frames: number } | undefined;
}

/** One output stream in the report. */
export interface OutputReport {
  readonly stream: number;
  readonly format: Format;
  readonly source: string;
  readonly packets: number;
  readonly bytes: number;
  /** Bytes skipped because sending fell behind (a stalled host). */
  readonly skippedBytes: number;
}

/** What a session did. Times in ms. */
export interface SessionReport {
  /** "address:port". */
  readonly server: string;
  readonly codec: CodecName;
  /** The server's formats (undefined when it never offered). */
  readonly formats: StreamFormats | undefined;
  /** Time from Start(Ok) to the stop request (ms). */
  readonly ioMs: number;
  readonly inputs: readonly InputReport[];
  readonly outputs: readonly OutputReport[];
  readonly rtt: { readonly control: RttSnapshot; readonly loopback: RttSnapshot };
  /** Content verdicts of the input streams, when `expect` was given. */
  readonly content: readonly ContentVerdict[];
  /** Loopback verdicts of the stream pairs (input i, output i of the same signal). */
  readonly loopback: readonly LoopbackVerdict[];
  /** The connection's counters (datagrams, bad ones...), as the engine kept them. */
  readonly peer: PeerStats | undefined;
  /** Impairment layer counters, when one was injected. */
  readonly impairment: { readonly send: object; readonly receive: object } | undefined;
}

/** A live status, for a one-line display. */
export interface SessionStatus {
  /** Seconds since IO started. */
  readonly seconds: number;
  /** Per input: packets per second over the last interval, loss %, RFC 3550 jitter (ms), underruns. */
  readonly inputs: readonly {
    readonly packetsPerSecond: number;
    readonly lostPercent: number;
    readonly jitterMs: number;
    readonly underruns: number;
    readonly lateBytes: number;
  }[];
  /** Latest round trip (ms), loopback if any, else control; NaN without one. */
  readonly rttMs: number;
}

type Phase = "idle" | "connecting" | "connected" | "starting" | "started" | "stopping" | "stopped" | "closed";

/** How often playout pulls (ms). */
const PULL_MS = 10;

/** A session with one server. Create with {@link Session.open}. */
export class Session {
  readonly client: Client;
  /** The server's key, "address:port". */
  readonly server: string;
  formats: StreamFormats | undefined;
  readonly inputs: InputStream[] = [];
  readonly outputs: OutputStream[] = [];
  readonly controlRtt = new RttTracker();
  /** Set when the session failed. */
  failure: SessionError | undefined;
  phase: Phase = "idle";
  /** Clock time of Start(Ok), and of the stop request (ms). */
  ioStartedMs = Number.NaN;
  ioStoppedMs = Number.NaN;

  private readonly options: SessionOptions;
  private readonly source: SourceSpec;
  private readonly out = new Uint8Array(MAX_DATAGRAM);
  private waiters: (() => void)[] = [];
  private nextPullMs = Infinity;
  private scratch = new Uint8Array(0);
  private lastPeer: PeerStats | undefined;
  private readonly ticker: Ticker;

  private constructor(client: Client, options: SessionOptions) {
    this.client = client;
    this.options = options;
    this.server = peerKey(options.address, options.port);
    this.source = options.source ?? { kind: "silence" };
    this.ticker = { nextDueMs: () => this.nextDueMs(), tick: (now) => this.tick(now) };
    client.onEvent((e, now) => this.onEvent(e, now));
    client.beforeReceive = (now) => {
      for (const i of this.inputs) i.jitter.arrivalMs = now;
    };
  }

  /** Opens the client's transport (UDP unless given) for a session with `options.address:port`. */
  static async open(options: SessionOptions): Promise<Session> {
    let session: Session | undefined;
    const client = await Client.open({
      ...options,
      targets: [{ address: options.address, port: options.port }],
      accept: (formats, peer) => (session === undefined ? "failure" : session.accept(formats, peer)),
      receivers: streamReceiversTo((_peer, i) => session?.inputs[i]?.sink),
    });
    session = new Session(client, options);
    return session;
  }

  /**
   * Why the request cannot run with a server of `formats` (one line), or undefined: a WAV to play
   * must match every output stream; recording needs input streams a WAV can hold; a loopback
   * check needs a stream pair.
   */
  requestProblem(formats: StreamFormats): string | undefined {
    const src = this.source;
    if (src.kind === "wav") {
      if (formats.outputs.length === 0) return `the server has no output stream to play ${src.path} on`;
      for (let i = 0; i < formats.outputs.length; i++) {
        const f = formats.outputs[i] as Format;
        const p = sourceProblem(src, f);
        if (p !== undefined) {
          return `cannot play ${src.path} on output ${i}: ${p}, the stream is ${describeStreamFormat(f)}`;
        }
      }
    }
    const rec = this.options.record;
    if (rec !== undefined) {
      if (formats.inputs.length === 0) return "the server has no input stream to record";
      for (let i = 0; i < formats.inputs.length; i++) {
        const f = formats.inputs[i] as Format;
        try {
          wavLayout(f);
        } catch (e) {
          if (!(e instanceof WavError)) throw e;
          return `cannot record input ${i} (${describeStreamFormat(f)}) to ${recordPath(rec, i)}: ${e.message}`;
        }
      }
    }
    if (this.options.checkLoopback === true && pairs(formats).length === 0) {
      return "no input stream has the rate, channels and sample type of the output stream of its index: nothing to check for loopback";
    }
    return undefined;
  }

  /**
   * Sends Discovery to the server until it offers a connection and we accept it. Resolves with
   * its formats; rejects with a {@link SessionError}: `noAnswer` after `timeoutMs`, `refused`
   * when its formats do not suit the request (the offer was refused on the wire).
   */
  async connect(timeoutMs: number, signal?: AbortSignal): Promise<StreamFormats> {
    this.phase = "connecting";
    this.client.engine.startDiscovery(this.client.now());
    this.client.flush();
    const r = await this.waitUntil(() => this.phase !== "connecting", timeoutMs, signal);
    this.client.engine.stopDiscovery();
    this.throwIfFailed();
    if (r !== "ok" || this.formats === undefined) {
      if (r === "aborted") throw new SessionError("noAnswer", "interrupted while connecting");
      this.phase = "idle";
      throw new SessionError(
        "noAnswer",
        `no answer from ${this.server} within ${formatDuration(timeoutMs)} (is a server running there?)`,
      );
    }
    return this.formats;
  }

  /** Asks the server to start IO; resolves once it did (Start(Ok)), else rejects with `ioFailed`. */
  async startIO(signal?: AbortSignal): Promise<void> {
    this.throwIfFailed();
    this.phase = "starting";
    this.client.engine.startIO(this.server, this.client.now());
    this.client.flush();
    // The engine gives up by itself (10 sends, then backoff on Failure): no timeout of our own.
    const r = await this.waitUntil(() => this.phase !== "starting", Infinity, signal);
    this.throwIfFailed();
    if (r === "aborted") throw new SessionError("ioFailed", "interrupted while starting IO");
  }

  /**
   * Streams for `durationMs` (from Start(Ok)), or until `signal` aborts ("interrupted"). Calls
   * `onStatus` every `statusEveryMs`. Rejects with `lost` when the server goes away.
   */
  async run(
    durationMs: number,
    options: { signal?: AbortSignal; onStatus?: (s: SessionStatus) => void; statusEveryMs?: number } = {},
  ): Promise<"done" | "interrupted"> {
    this.throwIfFailed();
    const every = options.statusEveryMs ?? 250;
    let last = { t: this.client.now(), packets: this.inputs.map((i) => i.stats.packets) };
    const status = options.onStatus;
    const iv =
      status === undefined
        ? undefined
        : setInterval(() => {
            const now = this.client.now();
            status(this.status(now, last.t, last.packets));
            last = { t: now, packets: this.inputs.map((i) => i.stats.packets) };
          }, every);
    const end = this.ioStartedMs + durationMs;
    try {
      const r = await this.waitUntil(
        () => this.failure !== undefined,
        Math.max(0, end - this.client.now()),
        options.signal,
      );
      this.throwIfFailed();
      return r === "aborted" ? "interrupted" : "done";
    } finally {
      if (iv !== undefined) clearInterval(iv);
    }
  }

  /**
   * Asks the server to stop IO (our sending stops at once) and waits for Stop(Ok) at most
   * `timeoutMs`. Resolves true when it answered. Never rejects: stopping is best effort.
   */
  async stopIO(timeoutMs: number): Promise<boolean> {
    if (this.phase === "closed" || this.failure?.kind === "lost") return false;
    if (Number.isNaN(this.ioStoppedMs)) this.ioStoppedMs = this.client.now();
    for (const o of this.outputs) o.stop();
    this.nextPullMs = Infinity;
    if (this.client.engine.ioPhase(this.server) === undefined) return false;
    this.phase = "stopping";
    this.client.engine.stopIO(this.server, this.client.now());
    this.client.flush();
    const r = await this.waitUntil(() => this.phase !== "stopping", timeoutMs);
    return r === "ok" && this.client.engine.ioPhase(this.server) === "stopped";
  }

  /** Finishes every recording (synchronous, idempotent): safe from a SIGINT/SIGTERM handler. */
  finishRecordings(): void {
    for (const i of this.inputs) i.closeRecording();
  }

  /** Disconnects (Disconnect sent at once), finishes recordings, releases the socket. Idempotent. */
  close(): void {
    if (this.phase === "closed") return;
    for (const o of this.outputs) o.stop();
    this.nextPullMs = Infinity;
    const p = this.client.engine.peerStats(this.server);
    if (p !== undefined) this.lastPeer = p;
    this.client.close();
    this.finishRecordings();
    this.phase = "closed";
    this.wake();
  }

  /** The figures so far (or final, after close). */
  report(): SessionReport {
    const peer = this.client.engine.peerStats(this.server) ?? this.lastPeer;
    const loopRtt = new RttTracker();
    for (const i of this.inputs) {
      const r = i.loopRtt?.rtt;
      if (r === undefined || r.count === 0) continue;
      loopRtt.merge(r);
    }
    const imp = this.client.impairment;
    return {
      server: this.server,
      codec: this.options.codec ?? "postcard",
      formats: this.formats,
      ioMs: Number.isNaN(this.ioStartedMs)
        ? 0
        : (Number.isNaN(this.ioStoppedMs) ? this.client.now() : this.ioStoppedMs) - this.ioStartedMs,
      inputs: this.inputs.map((i) => {
        const s = i.snapshot();
        return {
          stream: i.index,
          format: i.format,
          ...s,
          streamBytes: i.stats.nextByte,
          lostPercent: i.stats.nextByte === 0 ? 0 : (100 * s.lostBytes) / i.stats.nextByte,
          latency: i.latency.snapshot(),
          recording: i.writer === undefined ? undefined : { path: i.writer.path, frames: i.writer.frames },
        };
      }),
      outputs: this.outputs.map((o) => ({
        stream: o.index,
        format: o.format,
        source: o.source.label,
        packets: o.packets,
        bytes: o.bytes,
        skippedBytes: o.skippedBytes,
      })),
      rtt: { control: this.controlRtt.snapshot(), loopback: loopRtt.snapshot() },
      content: this.inputs.flatMap((i) => (i.content === undefined ? [] : [i.content.verdict()])),
      loopback: this.inputs.flatMap((i) => (i.check === undefined ? [] : [i.check.verdict()])),
      peer,
      impairment:
        imp === undefined ? undefined : { send: { ...imp.stats.send }, receive: { ...imp.stats.receive } },
    };
  }

  // -------------------------------------------------------------------------------------------

  private accept(formats: StreamFormats, peer: string): "ok" | "failure" | "refusal" {
    if (peer !== this.server || this.phase !== "connecting") return "failure";
    const problem = this.requestProblem(formats);
    if (problem === undefined) return "ok";
    this.fail(new SessionError("refused", `${problem}; refused the connection`));
    return "refusal";
  }

  private onEvent(e: ClientEvent, now: number): void {
    if (e.type === "audio") {
      const input = this.inputs[e.streamIdx];
      if (input === undefined) return;
      const pair = input.check === undefined ? undefined : this.outputs[input.check.output];
      input.onAudio(e.byteIdx, e.payload, now, pair === undefined ? 0 : pair.position, this.ioStartedMs);
      return;
    }
    if (e.peer !== this.server) return;
    switch (e.type) {
      case "connected":
        this.onConnected(e.formats);
        break;
      case "ioStarted":
        if (e.rttMs !== undefined) this.controlRtt.add(e.rttMs);
        this.ioStartedMs = now;
        for (const o of this.outputs) o.start(now);
        this.nextPullMs = now + PULL_MS;
        this.client.addTicker(this.ticker);
        if (this.phase === "starting") this.phase = "started";
        break;
      case "ioStopped":
        if (e.rttMs !== undefined) this.controlRtt.add(e.rttMs);
        if (Number.isNaN(this.ioStoppedMs)) this.ioStoppedMs = now;
        for (const o of this.outputs) o.stop();
        this.nextPullMs = Infinity;
        this.client.removeTicker(this.ticker);
        this.phase = "stopped";
        break;
      case "ioFailed":
        if (e.state === "start") {
          const why =
            e.reason === "refusal"
              ? "the server refused to start IO"
              : e.reason === "failureExhausted"
                ? "the server is busy (it answered Failure to every attempt; is another client streaming?)"
                : "no answer to Start IO";
          this.fail(new SessionError("ioFailed", why));
        } else if (this.phase === "stopping") {
          this.phase = "stopped";
        }
        break;
      case "timedOut":
        this.lastPeer = e.stats;
        this.fail(new SessionError("lost", `lost ${this.server}: no message from it for 600 ms`));
        break;
      case "disconnected":
        this.lastPeer = e.stats;
        if (e.by === "peer") this.fail(new SessionError("lost", `${this.server} ended the connection`));
        break;
      default:
        break;
    }
    this.wake();
  }

  private onConnected(formats: StreamFormats): void {
    this.formats = formats;
    const p = this.client.engine.peer(this.server);
    const header = maxAudioHeaderBytes(
      p === undefined ? hostCodec(this.options.codec ?? "postcard") : p.codec,
    );
    for (let i = 0; i < formats.outputs.length; i++) {
      const f = formats.outputs[i] as Format;
      this.outputs.push(new OutputStream(i, f, createSource(this.source, i, f), header));
    }
    const pairsOf = pairs(formats);
    try {
      for (let i = 0; i < formats.inputs.length; i++) {
        const f = formats.inputs[i] as Format;
        const rec = this.options.record;
        this.inputs.push(
          new InputStream(i, f, {
            latencyMs: this.options.latencyMs ?? DEFAULT_TARGET_LATENCY_MS,
            recordPath: rec === undefined ? undefined : recordPath(rec, i),
            pair: pairsOf.indexOf(i) >= 0 ? this.outputs[i] : undefined,
            expect: this.options.expect === undefined ? undefined : createSource(this.options.expect, i, f),
          }),
        );
      }
    } catch (e) {
      this.finishRecordings();
      this.fail(
        new SessionError("recording", `cannot record: ${e instanceof Error ? e.message : String(e)}`),
      );
      this.client.engine.disconnect(this.server, this.client.now());
      return;
    }
    this.phase = "connected";
  }

  private nextDueMs(): number {
    let next = this.nextPullMs;
    for (const o of this.outputs) next = Math.min(next, o.nextDueMs());
    return next;
  }

  private tick(now: number): void {
    const engine = this.client.engine;
    for (const o of this.outputs) {
      o.pump(engine, this.server, this.out, now, (data) =>
        this.client.send(data, this.options.address, this.options.port),
      );
    }
    if (now >= this.nextPullMs) {
      for (const i of this.inputs) this.pull(i, now);
      this.nextPullMs = now + PULL_MS;
    }
  }

  /** The playout clock of one input: takes every frame due (the audio goes nowhere: a model of a sound card). */
  private pull(i: InputStream, now: number): void {
    const jb = i.jitter;
    const max = 4096;
    if (this.scratch.length < max * jb.frameBytes) this.scratch = new Uint8Array(max * jb.frameBytes);
    for (let k = 0; k < 1000 && jb.pull(now, this.scratch, 0, max) === max; k++) {
      // more due: pull again
    }
  }

  private status(now: number, since: number, packetsBefore: number[]): SessionStatus {
    const dt = Math.max(1e-3, (now - since) / 1000);
    let rtt = Number.NaN;
    for (const i of this.inputs)
      if (i.loopRtt !== undefined && i.loopRtt.rtt.count > 0) rtt = i.loopRtt.rtt.lastMs;
    if (Number.isNaN(rtt)) rtt = this.controlRtt.lastMs;
    return {
      seconds: Number.isNaN(this.ioStartedMs) ? 0 : (now - this.ioStartedMs) / 1000,
      inputs: this.inputs.map((i, k) => ({
        packetsPerSecond: (i.stats.packets - (packetsBefore[k] ?? 0)) / dt,
        lostPercent: i.stats.nextByte === 0 ? 0 : (100 * i.stats.lostBytes) / i.stats.nextByte,
        jitterMs: i.stats.jitterMs,
        underruns: i.jitter.underruns,
        lateBytes: i.jitter.lateBytes,
      })),
      rttMs: rtt,
    };
  }

  private fail(e: SessionError): void {
    if (this.failure === undefined) this.failure = e;
    this.wake();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves "ok" once `cond()` holds (or the session failed), "timeout" after `timeoutMs`, "aborted" when `signal` aborts. */
  private waitUntil(
    cond: () => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<"ok" | "timeout" | "aborted"> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (r: "ok" | "timeout" | "aborted"): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = this.waiters.indexOf(check);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(r);
      };
      const onAbort = (): void => done("aborted");
      const check = (): void => {
        if (cond() || this.failure !== undefined || this.phase === "closed") done("ok");
        else this.waiters.push(check);
      };
      if (signal?.aborted) {
        resolve("aborted");
        return;
      }
      if (timeoutMs !== Infinity) timer = setTimeout(() => done("timeout"), timeoutMs);
      signal?.addEventListener("abort", onAbort);
      check();
    });
  }
}

/** Indexes i where input i and output i carry the same signal (rate, channels, sample type). */
export function pairs(formats: StreamFormats): number[] {
  const r: number[] = [];
  const n = Math.min(formats.inputs.length, formats.outputs.length);
  for (let i = 0; i < n; i++)
    if (sameSignal(formats.inputs[i] as Format, formats.outputs[i] as Format)) r.push(i);
  return r;
}

/** Options of {@link runSession} beyond the session's own. */
export interface RunOptions {
  /** Streaming time from IO start (ms). */
  readonly durationMs: number;
  /** How long to wait for the server's offer (ms). Defaults to 3000. */
  readonly connectTimeoutMs?: number;
  /** Aborts the session: IO is stopped and the connection closed (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Live status, every `statusEveryMs` (250). */
  readonly onStatus?: (s: SessionStatus) => void;
  readonly statusEveryMs?: number;
  /** Called once connected (formats known), before IO starts. */
  readonly onConnected?: (session: Session) => void;
  /** Called once the session exists (e.g. to finish its recordings from a signal handler). */
  readonly onOpen?: (session: Session) => void;
}

/** What {@link runSession} returns. */
export interface RunResult {
  readonly report: SessionReport;
  /** Why it failed, if it did (the report holds what happened before). */
  readonly failure: SessionError | undefined;
  /** True when `signal` aborted it. */
  readonly interrupted: boolean;
  /** The loopback check failed (only when `checkLoopback`): one line per failing pair. */
  readonly loopbackProblems: readonly string[];
  /** The content check failed (only with `expect`): one line per failing input stream. */
  readonly contentProblems: readonly string[];
  /** Inputs that delivered less than `minDeliveredPercent` of their due bytes: one line each. */
  readonly deliveryProblems: readonly string[];
}

/** Connect, start IO, stream for `durationMs`, stop IO, disconnect: the whole session, never throwing a SessionError. */
export async function runSession(options: SessionOptions, run: RunOptions): Promise<RunResult> {
  const session = await Session.open(options);
  run.onOpen?.(session);
  let failure: SessionError | undefined;
  let interrupted = false;
  try {
    await session.connect(run.connectTimeoutMs ?? 3000, run.signal);
    run.onConnected?.(session);
    await session.startIO(run.signal);
    const r = await session.run(run.durationMs, {
      ...(run.signal === undefined ? {} : { signal: run.signal }),
      ...(run.onStatus === undefined ? {} : { onStatus: run.onStatus }),
      ...(run.statusEveryMs === undefined ? {} : { statusEveryMs: run.statusEveryMs }),
    });
    interrupted = r === "interrupted";
    // The engine sends Stop up to 10 times, 100 ms apart: wait that long for Stop(Ok), unless
    // the user is waiting on Ctrl-C.
    await session.stopIO(interrupted ? 300 : 1200);
  } catch (e) {
    if (!(e instanceof SessionError)) {
      session.close();
      throw e;
    }
    failure = e;
    interrupted = run.signal?.aborted === true;
    await session.stopIO(300);
  } finally {
    session.close();
  }
  const report = session.report();
  const loopbackProblems =
    options.checkLoopback === true && failure === undefined
      ? report.loopback.filter((v) => !v.ok).map(describeVerdict)
      : [];
  const contentProblems =
    options.expect !== undefined && failure === undefined
      ? report.content.filter((v) => !v.ok).map(describeContent)
      : [];
  const delivered =
    failure === undefined && !interrupted
      ? deliveryProblems(
          report.inputs,
          report.ioMs,
          options.latencyMs ?? DEFAULT_TARGET_LATENCY_MS,
          options.minDeliveredPercent ?? DEFAULT_MIN_DELIVERED_PERCENT,
        )
      : [];
  return { report, failure, interrupted, loopbackProblems, contentProblems, deliveryProblems: delivered };
}
