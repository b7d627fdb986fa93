/**
 * The per-stream parts of a session with one server.
 *
 * - {@link InputStream} (server to client): the receiver's sink is a tee to an optional WAV
 *   recording (aligned by byte index: frame n of the file is frame n of the stream, lost frames
 *   silence) and to a jitter buffer (the live playout model: late data and underruns counted);
 *   the wire statistics (packets, loss, order, RFC 3550 jitter) are fed from the audio events;
 *   when the stream pairs with an output stream of the same signal, the loopback check and the
 *   loopback round-trip times; when the stream's content is known in advance (the server's test
 *   pattern), a content check on the receiver's output; and the achieved latency per message.
 * - {@link OutputStream} (client to server): a pacer anchored at IO start, byte index
 *   bookkeeping and a source; it sends whole messages as they fall due.
 */

import { Pacer } from "../../shared/audio/pacer.js";
import type { StreamSink } from "../../shared/audio/receiver.js";
import { StreamSender } from "../../shared/audio/sender.js";
import type { ClientEngine } from "../../shared/endpoint/client.js";
import { type Format, frameSize } from "../../shared/format.js";
import { type U64, u64ToNumber } from "../../shared/u64.js";
import { WavWriter } from "../media/wav.js";
import { ContentCheck } from "./content.js";
import { JitterBuffer } from "./jitter.js";
import { LoopbackCheck } from "./loopback.js";
import type { AudioSource } from "./sources.js";
import { LatencyTracker, LoopbackRtt, StreamStats, type StreamStatsSnapshot } from "./stats.js";

/**
 * How far (ms of audio) an output stream may fall behind its clock before the late part is
 * skipped rather than sent in a burst (a stalled event loop must not flood the server; the
 * firmware does the same). Skipped bytes advance the byte index: the server sees them as loss.
 */
export const MAX_SEND_LAG_MS = 100;

/** One input stream of the server, as the session receives it. */
export class InputStream {
  readonly stats: StreamStats;
  readonly jitter: JitterBuffer;
  /** The recording, when there is one. */
  readonly writer: WavWriter | undefined;
  /** The loopback check, when output stream `index` carries the same signal. */
  readonly check: LoopbackCheck | undefined;
  /** Loopback round trips (only messages the check found to be echoes). */
  readonly loopRtt: LoopbackRtt | undefined;
  /** The content check, when the stream's bytes are known in advance. */
  readonly content: ContentCheck | undefined;
  /** Achieved latency of each message (from its first sample's due time to its arrival). */
  readonly latency: LatencyTracker;
  /** The tee the stream's receiver writes to. */
  readonly sink: StreamSink;
  /** Audio messages with a wrong stream index never get here; these are the ones that did. */
  messages = 0;

  constructor(
    readonly index: number,
    readonly format: Format,
    options: {
      readonly latencyMs: number;
      readonly recordPath: string | undefined;
      readonly pair: OutputStream | undefined;
      /** What the stream carries, when known (each received byte is checked at its index). */
      readonly expect: AudioSource | undefined;
    },
  ) {
    this.stats = new StreamStats(format);
    this.latency = new LatencyTracker(format);
    this.jitter = new JitterBuffer(format, { targetLatencyMs: options.latencyMs });
    this.writer = options.recordPath === undefined ? undefined : WavWriter.open(options.recordPath, format);
    const pair = options.pair;
    this.check = pair === undefined ? undefined : new LoopbackCheck(index, pair.index, pair.source);
    this.loopRtt = pair === undefined ? undefined : new LoopbackRtt(4096);
    if (pair !== undefined) pair.loopRtt = this.loopRtt;
    const content = options.expect === undefined ? undefined : new ContentCheck(index, options.expect);
    this.content = content;
    const writer = this.writer;
    const jitter = this.jitter;
    this.sink = {
      data(outByte: number, buf: Uint8Array, start: number, length: number): void {
        if (writer !== undefined && !writer.closed) writer.write(outByte, buf, start, length);
        jitter.data(outByte, buf, start, length);
        content?.data(outByte, buf, start, length);
      },
      silence(outByte: number, length: number): void {
        if (writer !== undefined && !writer.closed) writer.writeSilence(outByte, length);
        jitter.silence(outByte, length);
        content?.silence(outByte, length);
      },
    };
  }

  /**
   * Counts one audio message of this stream (after the receiver took it); `sentEnd`: bytes sent on
   * the paired output; `ioStartedMs`: when Start(Ok) arrived, on the clock of `nowMs`.
   */
  onAudio(byteIdx: U64, payload: Uint8Array, nowMs: number, sentEnd: number, ioStartedMs: number): void {
    this.messages++;
    const k = u64ToNumber(byteIdx);
    this.stats.packet(k, payload.length, nowMs);
    this.latency.add(k, payload.length, nowMs - ioStartedMs);
    if (this.check?.check(k, payload, sentEnd)) {
      this.loopRtt?.received(k, payload.length, nowMs);
    }
  }

  /** Finishes the recording (synchronous; safe in a signal handler; idempotent). */
  closeRecording(): void {
    if (this.writer !== undefined) this.writer.closeSync();
  }

  /** The wire and playout figures. */
  snapshot(): StreamStatsSnapshot {
    return this.stats.snapshot(this.jitter);
  }
}

/** One output stream of the server, as the session sends it. */
export class OutputStream {
  readonly pacer: Pacer;
  readonly sender: StreamSender;
  /** Audio messages sent. */
  packets = 0;
  /** Payload bytes sent. */
  bytes = 0;
  /** Bytes skipped because the sender fell more than MAX_SEND_LAG_MS behind. */
  skippedBytes = 0;
  /** Messages the engine refused to write (IO not running). */
  refused = 0;
  /** Loopback round trips are measured on the input stream; it records sends here. */
  loopRtt: LoopbackRtt | undefined;
  private readonly payload: Uint8Array;
  private readonly byteIdx: U64 = { hi: 0, lo: 0 };
  private readonly maxLagBytes: number;

  constructor(
    readonly index: number,
    readonly format: Format,
    readonly source: AudioSource,
    headerBytes: number,
  ) {
    const fb = frameSize(format);
    this.pacer = new Pacer(format.sampleRate, fb);
    this.sender = new StreamSender(format, headerBytes);
    this.payload = new Uint8Array(this.sender.payloadBytes);
    const lag = Math.floor((format.sampleRate * MAX_SEND_LAG_MS) / 1000) * fb;
    this.maxLagBytes = Math.max(lag, 4 * this.sender.payloadBytes);
  }

  /** Bytes sent so far (or skipped): the stream position. */
  get position(): number {
    return u64ToNumber(this.sender.next);
  }

  /** Anchors the pacer: IO started at `nowMs`. */
  start(nowMs: number): void {
    this.pacer.start(nowMs);
  }

  /** Stops sending. */
  stop(): void {
    this.pacer.stop();
  }

  /** When the next whole message is due (ms), or Infinity when stopped. */
  nextDueMs(): number {
    return this.pacer.running ? this.pacer.dueAtMs(this.sender.payloadBytes) : Infinity;
  }

  /**
   * Sends every whole message due at `nowMs` to server `peer`, written into `out` by the engine
   * and handed to `send`. Skips what is more than MAX_SEND_LAG_MS late.
   */
  pump(
    engine: ClientEngine,
    peer: string,
    out: Uint8Array,
    nowMs: number,
    send: (data: Uint8Array) => void,
  ): void {
    const p = this.pacer;
    if (!p.running) return;
    const n = this.sender.payloadBytes;
    let due = p.due(nowMs);
    if (due > this.maxLagBytes) {
      const skip = Math.floor((due - n) / n) * n;
      this.sender.claim(skip, this.byteIdx);
      p.take(skip);
      this.skippedBytes += skip;
      due -= skip;
    }
    for (; due >= n; due -= n) {
      this.sender.claim(n, this.byteIdx);
      const k = u64ToNumber(this.byteIdx);
      this.source.fill(this.payload, 0, n, k);
      p.take(n);
      const len = engine.writeAudio(peer, this.index, this.byteIdx, this.payload, out, 0, nowMs);
      if (len === 0) {
        this.refused++;
        continue;
      }
      this.loopRtt?.sent(k, n, nowMs);
      this.packets++;
      this.bytes += n;
      send(out.subarray(0, len));
    }
  }
}
