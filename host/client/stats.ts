/**
 * Live statistics of audio streams on the host: per-stream packet counts, loss, reordering and
 * duplication, RFC 3550 interarrival jitter, and round-trip times (control request/reply pairs,
 * and loopback audio: sending byte k and receiving it back). Sans-IO: times are passed in (ms).
 *
 * The numbers count what arrived on the wire; what the playout made of it (late data, underruns)
 * comes from the stream's jitter buffer and is merged into {@link StreamStats.snapshot}.
 */

import { type Format, frameSize } from "../../shared/format.js";
import { type U64, u64ToNumber } from "../../shared/u64.js";
import type { PlayoutCounters } from "./jitter.js";

/** A byte index as the endpoints give it (u64) or as a number (exact below 2^53). */
export type ByteIndex = U64 | number;

function byteNumber(i: ByteIndex): number {
  return typeof i === "number" ? i : u64ToNumber(i);
}

/** What {@link StreamStats.packet} made of a packet. */
export type PacketKind = "in-order" | "gap" | "reordered" | "duplicate";

/** Options of {@link StreamStats}. */
export interface StreamStatsOptions {
  /**
   * How many of the latest gaps are remembered, so that a packet arriving after its successors
   * can be told apart (reordered: it falls in a gap; duplicate: it does not). Defaults to 64.
   */
  gapMemory: number;
}

/** A copy of one stream's counters, with the playout's when a jitter buffer was given. */
export interface StreamStatsSnapshot {
  /** Audio messages counted. */
  packets: number;
  /** Payload bytes of all of them. */
  bytes: number;
  /** Messages that started beyond the next expected byte. */
  gaps: number;
  /** Stream bytes skipped by those gaps (lost, unless a reordered message brings them later). */
  lostBytes: number;
  /** Messages that arrived after later ones and filled (part of) a remembered gap. */
  reordered: number;
  /** Bytes of those messages that fell in a gap. */
  recoveredBytes: number;
  /** Messages that brought only bytes already seen (or outside every remembered gap). */
  duplicates: number;
  /** RFC 3550 interarrival jitter (ms). */
  jitterMs: number;
  /** Playout: bytes dropped as late (0 without a jitter buffer). */
  lateBytes: number;
  /** Playout: frames of underrun silence (0 without a jitter buffer). */
  underrunFrames: number;
  /** Playout: runs of underrun frames (0 without a jitter buffer). */
  underruns: number;
  /** Playout: bytes dropped for lack of room (0 without a jitter buffer). */
  overflowBytes: number;
}

/**
 * Counters of one stream, fed every audio message in arrival order with {@link packet}.
 *
 * Loss and order are judged against the next expected byte (the end of the furthest message so
 * far): a message starting there is in order; beyond it, a gap (the bytes between are counted
 * lost and the range remembered); before it, reordered if it covers part of a remembered gap
 * (those bytes are then no longer lost: `recoveredBytes`), else a duplicate.
 *
 * Jitter follows RFC 3550 section 6.4.1 with times in ms: the send time of a message is taken as
 * its byte index divided by the byte rate (the sender paces from IO start), so for consecutive
 * arrivals i-1, i: `D = (R_i - R_{i-1}) - (S_i - S_{i-1})` and `J += (|D| - J) / 16`.
 */
export class StreamStats {
  /** Bytes per second of the stream. */
  readonly byteRate: number;
  packets = 0;
  bytes = 0;
  gaps = 0;
  lostBytes = 0;
  reordered = 0;
  recoveredBytes = 0;
  duplicates = 0;
  /** RFC 3550 interarrival jitter estimate (ms). */
  jitterMs = 0;
  /** Next expected byte index (end of the furthest message so far). */
  nextByte = 0;

  private readonly gapMemory: number;
  /** Remembered gaps [start, end), oldest first, at most gapMemory. */
  private gapList: Array<[number, number]> = [];
  private hasPrev = false;
  private prevArrivalMs = 0;
  private prevSendMs = 0;

  constructor(
    format: Pick<Format, "sampleRate" | "channelCount" | "sampleType">,
    options?: Partial<Readonly<StreamStatsOptions>>,
  ) {
    this.byteRate = format.sampleRate * frameSize({ ...format, bufferSize: 0 });
    const memory = options?.gapMemory ?? 64;
    if (!(Number.isInteger(memory) && memory >= 0)) {
      throw new Error(`"gapMemory" must be an integer >= 0, got ${memory}`);
    }
    this.gapMemory = memory;
  }

  /** Back to IO start: every counter to zero, no gaps remembered. */
  reset(): void {
    this.packets = 0;
    this.bytes = 0;
    this.gaps = 0;
    this.lostBytes = 0;
    this.reordered = 0;
    this.recoveredBytes = 0;
    this.duplicates = 0;
    this.jitterMs = 0;
    this.nextByte = 0;
    this.gapList = [];
    this.hasPrev = false;
  }

  /** Counts one audio message of `nBytes` payload bytes starting at `byteIdx`, arrived at `arrivalMs`. */
  packet(byteIdx: ByteIndex, nBytes: number, arrivalMs: number): PacketKind {
    const start = byteNumber(byteIdx);
    const end = start + nBytes;
    this.packets++;
    this.bytes += nBytes;
    const sendMs = (start * 1000) / this.byteRate;
    if (this.hasPrev) {
      const d = arrivalMs - this.prevArrivalMs - (sendMs - this.prevSendMs);
      this.jitterMs += (Math.abs(d) - this.jitterMs) / 16;
    }
    this.hasPrev = true;
    this.prevArrivalMs = arrivalMs;
    this.prevSendMs = sendMs;
    if (start === this.nextByte) {
      this.nextByte = end;
      return "in-order";
    }
    if (start > this.nextByte) {
      this.gaps++;
      this.lostBytes += start - this.nextByte;
      this.remember(this.nextByte, start);
      this.nextByte = end;
      return "gap";
    }
    const filled = this.fill(start, Math.min(end, this.nextByte));
    if (end > this.nextByte) this.nextByte = end;
    if (filled > 0) {
      this.reordered++;
      this.recoveredBytes += filled;
      this.lostBytes -= filled;
      return "reordered";
    }
    this.duplicates++;
    return "duplicate";
  }

  /** A copy of the counters, with the playout counters of `playout` (a jitter buffer) if given. */
  snapshot(playout?: Readonly<PlayoutCounters>): StreamStatsSnapshot {
    return {
      packets: this.packets,
      bytes: this.bytes,
      gaps: this.gaps,
      lostBytes: this.lostBytes,
      reordered: this.reordered,
      recoveredBytes: this.recoveredBytes,
      duplicates: this.duplicates,
      jitterMs: this.jitterMs,
      lateBytes: playout === undefined ? 0 : playout.lateBytes,
      underrunFrames: playout === undefined ? 0 : playout.underrunFrames,
      underruns: playout === undefined ? 0 : playout.underruns,
      overflowBytes: playout === undefined ? 0 : playout.overflowBytes,
    };
  }

  private remember(start: number, end: number): void {
    if (this.gapMemory === 0) return;
    if (this.gapList.length >= this.gapMemory) this.gapList.shift();
    this.gapList.push([start, end]);
  }

  /* Removes [start, end) from the remembered gaps; returns how many bytes were in them. */
  private fill(start: number, end: number): number {
    let filled = 0;
    const kept: Array<[number, number]> = [];
    for (const [a, b] of this.gapList) {
      const lo = Math.max(a, start);
      const hi = Math.min(b, end);
      if (lo >= hi) {
        kept.push([a, b]);
        continue;
      }
      filled += hi - lo;
      if (a < lo) kept.push([a, lo]);
      if (hi < b) kept.push([hi, b]);
    }
    // Splitting may add one range; keep the newest gapMemory.
    this.gapList = kept.length > this.gapMemory ? kept.slice(kept.length - this.gapMemory) : kept;
    return filled;
  }
}

/** A copy of an {@link RttTracker}'s figures (ms; NaN while there are no samples). */
export interface RttSnapshot {
  count: number;
  minMs: number;
  meanMs: number;
  maxMs: number;
  lastMs: number;
}

/** Round-trip times (ms): minimum, mean, maximum and last of the samples added. */
export class RttTracker {
  /** Samples added. */
  count = 0;
  /** Samples refused (negative, NaN or infinite). */
  invalid = 0;
  minMs = Number.NaN;
  maxMs = Number.NaN;
  lastMs = Number.NaN;
  private sumMs = 0;

  /** Adds one round trip (ms); a negative or non-finite value is counted in `invalid` instead. */
  add(ms: number): void {
    if (!(ms >= 0 && Number.isFinite(ms))) {
      this.invalid++;
      return;
    }
    this.count++;
    this.sumMs += ms;
    this.lastMs = ms;
    if (this.count === 1 || ms < this.minMs) this.minMs = ms;
    if (this.count === 1 || ms > this.maxMs) this.maxMs = ms;
  }

  /** Mean of the samples (ms), NaN without samples. */
  get meanMs(): number {
    return this.count === 0 ? Number.NaN : this.sumMs / this.count;
  }

  /** Adds every sample of `other` (its count, sum, minimum and maximum; `last` becomes its last). */
  merge(other: RttTracker): void {
    if (other.count === 0) return;
    this.minMs = this.count === 0 ? other.minMs : Math.min(this.minMs, other.minMs);
    this.maxMs = this.count === 0 ? other.maxMs : Math.max(this.maxMs, other.maxMs);
    this.count += other.count;
    this.sumMs += other.sumMs;
    this.invalid += other.invalid;
    this.lastMs = other.lastMs;
  }

  reset(): void {
    this.count = 0;
    this.invalid = 0;
    this.minMs = Number.NaN;
    this.maxMs = Number.NaN;
    this.lastMs = Number.NaN;
    this.sumMs = 0;
  }

  snapshot(): RttSnapshot {
    return {
      count: this.count,
      minMs: this.minMs,
      meanMs: this.meanMs,
      maxMs: this.maxMs,
      lastMs: this.lastMs,
    };
  }
}

/** Default number of sent messages a {@link LoopbackRtt} remembers. */
export const DEFAULT_LOOPBACK_MEMORY = 1024;

/**
 * Round trips of loopback audio on one stream: remembers when byte ranges were sent (a bounded
 * ring of the latest `capacity` messages) and, when a message comes back, yields the time since
 * its first byte was sent. The server's loopback echoes each message with the same byte index
 * (BEHAVIOUR.md), so each sent message is measured once: a second echo of it (duplicate) yields
 * nothing, nor does a byte never sent or already forgotten.
 */
export class LoopbackRtt {
  /** The round trips measured. */
  readonly rtt = new RttTracker();
  /** Received messages whose first byte was not (or no longer) remembered, or already measured. */
  unmatched = 0;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly times: Float64Array;
  private readonly measured: Uint8Array;
  /** Ring slot of the oldest record, and records held. */
  private head = 0;
  private size = 0;

  constructor(capacity = DEFAULT_LOOPBACK_MEMORY) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new Error(`"capacity" must be an integer >= 1, got ${capacity}`);
    }
    this.starts = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.measured = new Uint8Array(capacity);
  }

  /**
   * Records that bytes `[byteIdx, byteIdx + nBytes)` were sent at `nowMs`. An empty message is
   * not recorded (its echo could not be told from the next message's).
   */
  sent(byteIdx: ByteIndex, nBytes: number, nowMs: number): void {
    if (!(nBytes > 0)) return;
    const cap = this.starts.length;
    let slot: number;
    if (this.size < cap) {
      slot = (this.head + this.size) % cap;
      this.size++;
    } else {
      slot = this.head;
      this.head = (this.head + 1) % cap;
    }
    const start = byteNumber(byteIdx);
    this.starts[slot] = start;
    this.ends[slot] = start + nBytes;
    this.times[slot] = nowMs;
    this.measured[slot] = 0;
  }

  /**
   * A message of `nBytes` bytes starting at `byteIdx` came back at `nowMs`: returns the round trip
   * (ms) of the sent message that held byte `byteIdx`, and adds it to {@link rtt}; undefined (and
   * counted in `unmatched`) when that is unknown, was measured already, or the message is empty.
   */
  received(byteIdx: ByteIndex, nBytes: number, nowMs: number): number | undefined {
    if (!(nBytes > 0)) {
      this.unmatched++;
      return undefined;
    }
    const k = byteNumber(byteIdx);
    const cap = this.starts.length;
    // Newest first: an echo usually matches a recent send.
    for (let i = this.size - 1; i >= 0; i--) {
      const slot = (this.head + i) % cap;
      if ((this.starts[slot] as number) <= k && k < (this.ends[slot] as number)) {
        if (this.measured[slot] === 1) break;
        this.measured[slot] = 1;
        const ms = nowMs - (this.times[slot] as number);
        this.rtt.add(ms);
        return ms;
      }
    }
    this.unmatched++;
    return undefined;
  }
}

/** A copy of a {@link LatencyTracker}'s figures (ms; NaN while there are no samples). */
export interface LatencySnapshot {
  /** Audio messages measured. */
  readonly count: number;
  /** Audio time of the largest message (its payload at the stream's byte rate): the part no network removes. */
  readonly packetMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How far the stream clock's anchor was moved back from Start(Ok) (ms; see {@link LatencyTracker}). */
  readonly anchorShiftMs: number;
}

/** Histogram resolution of {@link LatencyTracker} (ms per bin). */
const LATENCY_BIN_MS = 0.1;
/** Lowest latency the histogram holds (ms, relative to Start(Ok)): messages may beat a late Start(Ok). */
const LATENCY_LOW_MS = -2000;
/** Highest (ms): latencies beyond it count in the last bin (and in `maxMs` exactly). */
const LATENCY_HIGH_MS = 5000;

/**
 * Achieved audio latency of one input stream: for each message, how long after its FIRST sample
 * was due at the server it arrived here. That is the message's own audio time (the server sends
 * it once its last sample is due) plus transit and scheduling delay.
 *
 * The server's stream clock is not visible here, so it is anchored at Start(Ok)'s arrival (sample
 * at byte k due `k / byteRate` after it), and moved earlier when a message proves the server
 * started earlier: no message can arrive before its last sample was due, so when one does on this
 * anchor (a lost Start(Ok) was retransmitted, and audio flowed before its copy arrived), the
 * anchor moves back by that much and every figure grows by it. Either way the figures are low by
 * about one one-way transit (on 127.0.0.1, a few hundredths of a millisecond).
 *
 * Percentiles from a fixed histogram (0.1 ms bins, -2 s to 5 s): bounded memory for any session.
 */
export class LatencyTracker {
  count = 0;
  private rawMax = Number.NaN;
  /** Least (arrival - last sample due) on the Start(Ok) anchor; negative: the anchor is late. */
  private minSlack = Number.POSITIVE_INFINITY;
  private readonly bins = new Uint32Array(Math.ceil((LATENCY_HIGH_MS - LATENCY_LOW_MS) / LATENCY_BIN_MS) + 1);
  private readonly msPerByte: number;
  private payloadBytes = 0;

  constructor(format: Pick<Format, "sampleRate" | "channelCount" | "sampleType">) {
    this.msPerByte = 1000 / (format.sampleRate * frameSize({ ...format, bufferSize: 0 }));
  }

  /** One message of `nBytes` starting at stream byte `byteIdx`, arrived `sinceStartMs` after Start(Ok). */
  add(byteIdx: number, nBytes: number, sinceStartMs: number): void {
    const ms = sinceStartMs - byteIdx * this.msPerByte;
    if (!Number.isFinite(ms)) return;
    this.count++;
    if (nBytes > this.payloadBytes) this.payloadBytes = nBytes;
    if (this.count === 1 || ms > this.rawMax) this.rawMax = ms;
    const slack = ms - nBytes * this.msPerByte;
    if (slack < this.minSlack) this.minSlack = slack;
    const bin = Math.min(
      this.bins.length - 1,
      Math.max(0, Math.floor((ms - LATENCY_LOW_MS) / LATENCY_BIN_MS)),
    );
    this.bins[bin] = (this.bins[bin] as number) + 1;
  }

  /** How far (ms) the anchor moved back: 0 unless a message arrived before it could have been sent. */
  get anchorShiftMs(): number {
    return this.minSlack < 0 ? -this.minSlack : 0;
  }

  /** Largest latency (ms), NaN without messages. */
  get maxMs(): number {
    return this.rawMax + this.anchorShiftMs;
  }

  /** The latency (ms) below which a fraction `p` of the messages arrived (upper edge of its bin). */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    let raw = this.rawMax;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i] as number;
      if (seen < rank) continue;
      // The last bin holds everything beyond the range: only the maximum is known there.
      if (i < this.bins.length - 1) raw = Math.min(LATENCY_LOW_MS + (i + 1) * LATENCY_BIN_MS, this.rawMax);
      break;
    }
    return raw + this.anchorShiftMs;
  }

  snapshot(): LatencySnapshot {
    return {
      count: this.count,
      packetMs: this.payloadBytes * this.msPerByte,
      p50Ms: this.percentile(0.5),
      p99Ms: this.percentile(0.99),
      maxMs: this.maxMs,
      anchorShiftMs: this.anchorShiftMs,
    };
  }
}
