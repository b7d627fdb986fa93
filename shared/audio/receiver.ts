/**
 * The receive side of ONE audio stream: turns audio messages (`byte_idx`, payload) into an
 * aligned output byte stream of whole samples, following BEHAVIOUR.md's whole-sample rule.
 *
 * Sans-IO and allocation-free per message: the caller hands in the datagram and a range of it,
 * the receiver hands whole samples to a {@link StreamSink} (a range of the caller's datagram, or
 * of the receiver's own one-sample buffer) and silence as (offset, length). Nothing here reads a
 * clock, and no audio byte is touched one at a time except the at most 7 bytes of a sample split
 * across messages, which are kept in a preallocated one-sample buffer.
 *
 * Output: byte 0 of the output is byte 0 of the stream (IO start), so output sample n is stream
 * sample n, until a resynchronisation (a gap above `maxGapBytes`, see {@link StreamReceiver}).
 *
 * Accounting (tested as invariants):
 * - stream positions: `origin + outputByte + heldBytes == expected` (exact, as u64), where
 *   `outputByte == bytesDelivered + bytesLost` and `origin` is the total skipped by resyncs;
 * - received bytes: `bytesReceived == bytesDelivered + bytesDropped + (heldIsLost ? 0 : heldBytes)`.
 *
 * Espruino-safe: no default parameters, no Number statics, no closures per message.
 */

import { type Format, frameSize, type SampleType, sampleSize } from "../format.js";
import { TWO_POW_32, type U64, u64AddInPlace, u64Compare, u64Distance, u64Equal } from "../u64.js";

/** `receive` status: the message started at the expected byte index; its bytes were taken. */
export const RECEIVE_ACCEPTED = 0;
/**
 * `receive` status: the message started after the expected byte index; the bytes in between
 * were lost and every sample that did not arrive whole became silence.
 */
export const RECEIVE_GAP = 1;
/**
 * `receive` status: the message started before the expected byte index (reordered or
 * duplicated, or overlapping bytes already taken): discarded whole and counted in `oldMessages`.
 */
export const RECEIVE_OLD = 2;
/**
 * `receive` status: the gap was larger than `maxGapBytes` (a buggy or hostile peer, e.g.
 * byte_idx near 2^64): no silence was emitted for it; the output continues contiguously and the
 * stream restarts at the message's byte index. Counted in `resyncs`.
 */
export const RECEIVE_RESYNC = 3;
/**
 * `receive` status: the gap was larger than `maxGapBytes` and not yet confirmed: the message is
 * set aside (discarded, counted in `suspectMessages`). A single stray or forged datagram with a
 * wild byte_idx (near 2^64, say) must not move the stream: only when the next message that is
 * not old continues exactly where this one ended is the jump taken as real (RECEIVE_RESYNC).
 * Any other message forgets the suspect.
 */
export const RECEIVE_SUSPECT = 5;
/**
 * `receive` status: the message's last byte would lie beyond byte 2^64 - 2 (so that the next
 * expected index would not fit in a u64): discarded, counted in `invalidMessages`.
 */
export const RECEIVE_INVALID = 4;

/**
 * Where a receiver delivers its output, in order and contiguously: each call starts where the
 * previous one ended, and covers whole samples only (never 0 bytes). Offsets are output byte
 * offsets (numbers; output byte 0 = stream byte 0 = IO start, shifted only by resyncs).
 */
export interface StreamSink {
  /**
   * Whole samples of audio: `buf[start .. start+length)` is output bytes
   * `[outByte, outByte+length)`. The bytes are only valid during the call (they are the
   * caller's datagram or the receiver's one-sample buffer): copy them, do not keep `buf`.
   */
  data(outByte: number, buf: Uint8Array, start: number, length: number): void;
  /**
   * `length` bytes of silence (whole samples, at most `maxGapBytes` plus two samples) at output
   * bytes `[outByte, outByte+length)`. Use `fillSilence` from format.ts to write them.
   */
  silence(outByte: number, length: number): void;
}

/** Options of a {@link StreamReceiver}. */
export interface ReceiverOptions {
  /**
   * Largest gap (bytes between the expected index and a message's byte_idx) treated as loss
   * and padded with silence; a larger one is a resynchronisation. An integer in [0, 2^32).
   * Defaults to {@link defaultMaxGapBytes} of the format.
   */
  maxGapBytes: number;
  /**
   * When true, a gap above `maxGapBytes` resynchronises only once the next message continues
   * exactly where the first one ended (see RECEIVE_SUSPECT); when false, at once. Defaults to true.
   */
  confirmResync: boolean;
}

/**
 * Seconds of audio in the default maximum gap: five times the 600 ms liveness timeout, so no
 * real loss within a live connection can exceed it.
 */
export const DEFAULT_MAX_GAP_SECONDS = 3;
/** Lower bound of the default maximum gap in bytes (64 KiB), for very slow formats. */
const MIN_DEFAULT_GAP_BYTES = 65536;
/** Upper bound of the default maximum gap in bytes (1 GiB), for absurd formats. */
const MAX_DEFAULT_GAP_BYTES = 1073741824;

/**
 * The default `maxGapBytes` of a format: {@link DEFAULT_MAX_GAP_SECONDS} of audio in whole
 * frames (bytes), clamped to [64 KiB, 1 GiB] so that absurd but valid formats (1e300 Hz,
 * 2^32-1 channels, 1e-300 Hz) still get a usable bound.
 */
export function defaultMaxGapBytes(format: Format): number {
  const bytes = Math.floor(format.sampleRate * DEFAULT_MAX_GAP_SECONDS) * frameSize(format);
  if (!(bytes <= MAX_DEFAULT_GAP_BYTES)) return MAX_DEFAULT_GAP_BYTES;
  return Math.max(bytes, MIN_DEFAULT_GAP_BYTES);
}

/** Sets `v` to `v - n` (0 <= n < 2^53, n <= v). */
function u64SubInPlace(v: U64, n: number): void {
  const nHi = Math.floor(n / TWO_POW_32);
  let lo = v.lo - (n - nHi * TWO_POW_32);
  let hi = v.hi - nHi;
  if (lo < 0) {
    lo += TWO_POW_32;
    hi -= 1;
  }
  v.hi = hi;
  v.lo = lo;
}

/**
 * The receive side of one stream. Create one per stream at IO start (or call {@link reset}).
 *
 * Rules, with `expected` the next expected stream byte index and `s` the sample size:
 * - `byte_idx == expected`: the bytes are taken; a sample may be completed across messages
 *   (its first bytes wait in a one-sample buffer).
 * - `byte_idx > expected` by at most `maxGapBytes`: the bytes in between are lost. Every sample
 *   that did not arrive whole is silence: the held bytes of a sample left incomplete by the gap
 *   and the message's bytes before its first sample boundary are dropped. All the silence is
 *   delivered in one `silence` call. If the message ends before that boundary (short or empty
 *   message inside a sample), the straddled sample is held as "lost" (`heldIsLost`) and becomes
 *   silence when its remaining bytes arrive or at the next gap.
 * - `byte_idx < expected`, including a message that starts before expected and extends past it:
 *   discarded whole.
 * - Zero-length messages follow the same rules: at `expected` nothing changes; beyond it they
 *   reveal a gap (padded as above, so silence is emitted as soon as the loss is known); before it
 *   they are old.
 * - A gap above `maxGapBytes` (including any of 2^53 bytes or more) is first a suspect (the
 *   message is set aside, RECEIVE_SUSPECT); when the next message that is not old continues
 *   exactly where the suspect ended, the jump is confirmed as a resynchronisation (or at once
 *   with `confirmResync: false`): the
 *   held partial sample is dropped, NO silence is emitted, and the output continues where it
 *   was, now showing the stream from the sample containing `byte_idx` (that sample is silence if
 *   the message starts inside it). `origin` (u64) becomes the stream index of output byte 0, so
 *   output byte k is stream byte `origin + k`; `resyncs` counts these events.
 * - A message whose end would pass 2^64 - 1 is invalid: discarded.
 */
export class StreamReceiver {
  /** Bytes per sample (1, 2, 3, 4 or 8). */
  readonly sampleBytes: number;
  /** The stream's sample type (decides what silence is). */
  readonly sampleType: SampleType;
  /** Largest gap in bytes padded with silence; larger gaps resynchronise. */
  readonly maxGapBytes: number;
  /** Where output goes. May be replaced between calls. */
  sink: StreamSink;
  /** Next expected stream byte index (u64). Read it, do not change it. */
  readonly expected: U64 = { hi: 0, lo: 0 };
  /** Stream byte index of output byte 0: 0 until a resync, then the bytes skipped in total (u64). */
  readonly origin: U64 = { hi: 0, lo: 0 };
  /** Output bytes emitted so far (data + silence): the next sink call's `outByte`. */
  outputByte = 0;
  /** Stream bytes of the current incomplete sample (0 .. sampleBytes-1), held until it completes. */
  heldBytes = 0;
  /** True when the held incomplete sample already lost a byte: it will be silence. */
  heldIsLost = false;

  /** Messages passed to `receive`, whatever their fate. */
  messages = 0;
  /** Messages that revealed a gap (status GAP). */
  gapMessages = 0;
  /** Messages discarded as reordered or duplicated (status OLD). */
  oldMessages = 0;
  /** Messages discarded because they run past the u64 index space (status INVALID). */
  invalidMessages = 0;
  /** Resynchronisations (status RESYNC). */
  resyncs = 0;
  /** Messages set aside as suspect jumps (status SUSPECT). */
  suspectMessages = 0;
  /** Whether large jumps need a confirming message (see ReceiverOptions.confirmResync). */
  readonly confirmResync: boolean;
  /** Payload bytes of messages that were not discarded (ACCEPTED, GAP, RESYNC). */
  bytesReceived = 0;
  /** Received bytes handed to the sink as data. */
  bytesDelivered = 0;
  /** Received bytes discarded because their sample did not arrive whole. */
  bytesDropped = 0;
  /** Output bytes that are silence (padding for samples that did not arrive whole). */
  bytesLost = 0;
  /** Samples of silence emitted: `bytesLost / sampleBytes`. */
  samplesPadded = 0;

  /** The current incomplete sample's bytes (preallocated, one sample). */
  private readonly held: Uint8Array;
  /** Where a suspect jump's message ended: a message starting here confirms the jump. */
  private readonly suspectEnd: U64 = { hi: 0, lo: 0 };
  /** True while a suspect jump waits for confirmation. */
  private suspect = false;

  /**
   * `format` is the stream's (only its sample type, rate and frame size are used); `sink`
   * receives the output. Throws when `options.maxGapBytes` is not an integer in [0, 2^32).
   */
  constructor(format: Format, sink: StreamSink, options?: Partial<Readonly<ReceiverOptions>>) {
    this.sampleType = format.sampleType;
    this.sampleBytes = sampleSize(format.sampleType);
    this.sink = sink;
    this.held = new Uint8Array(8);
    let maxGap = defaultMaxGapBytes(format);
    if (options !== undefined && options.maxGapBytes !== undefined) {
      maxGap = options.maxGapBytes;
      if (!(maxGap >= 0 && maxGap < TWO_POW_32 && Math.floor(maxGap) === maxGap)) {
        throw new Error('"maxGapBytes" must be an integer in [0, 2^32), got ' + maxGap);
      }
    }
    this.maxGapBytes = maxGap;
    this.confirmResync = !(options !== undefined && options.confirmResync === false);
  }

  /** Back to IO start: position, held sample and all counters to zero. */
  reset(): void {
    this.expected.hi = 0;
    this.expected.lo = 0;
    this.origin.hi = 0;
    this.origin.lo = 0;
    this.outputByte = 0;
    this.heldBytes = 0;
    this.heldIsLost = false;
    this.messages = 0;
    this.gapMessages = 0;
    this.oldMessages = 0;
    this.invalidMessages = 0;
    this.resyncs = 0;
    this.suspectMessages = 0;
    this.suspect = false;
    this.bytesReceived = 0;
    this.bytesDelivered = 0;
    this.bytesDropped = 0;
    this.bytesLost = 0;
    this.samplesPadded = 0;
  }

  /** {@link receiveFrom} on a whole payload array. */
  receive(byteIdx: U64, payload: Uint8Array): number {
    return this.receiveFrom(byteIdx, payload, 0, payload.length);
  }

  /**
   * Takes one audio message whose payload is `buf[start .. start+length)` (e.g. the datagram
   * after the decoded header: no subarray needed) and whose first byte is stream byte `byteIdx`.
   * `byteIdx` is only read. Returns RECEIVE_ACCEPTED, RECEIVE_GAP, RECEIVE_OLD, RECEIVE_RESYNC
   * or RECEIVE_INVALID. Never throws (unless the sink does).
   */
  receiveFrom(byteIdx: U64, buf: Uint8Array, start: number, length: number): number {
    this.messages++;
    const cmp = u64Compare(byteIdx, this.expected);
    if (cmp < 0) {
      this.oldMessages++;
      return RECEIVE_OLD;
    }
    if (byteIdx.hi === 0xffffffff && byteIdx.lo + length > 0xffffffff) {
      this.invalidMessages++;
      return RECEIVE_INVALID;
    }
    if (cmp === 0) {
      this.suspect = false;
      this.bytesReceived += length;
      this.append(buf, start, length);
      return RECEIVE_ACCEPTED;
    }
    const gap = u64Distance(byteIdx, this.expected);
    if (
      gap > this.maxGapBytes &&
      this.confirmResync &&
      !(this.suspect && u64Equal(byteIdx, this.suspectEnd))
    ) {
      this.suspect = true;
      this.suspectEnd.hi = byteIdx.hi;
      this.suspectEnd.lo = byteIdx.lo;
      u64AddInPlace(this.suspectEnd, length);
      this.suspectMessages++;
      return RECEIVE_SUSPECT;
    }
    this.suspect = false;
    this.bytesReceived += length;
    if (gap > this.maxGapBytes) {
      this.resync(byteIdx);
      this.append(buf, start, length);
      return RECEIVE_RESYNC;
    }
    this.gapMessages++;
    this.bridge(gap, buf, start, length);
    return RECEIVE_GAP;
  }

  /** Emits `n` bytes (whole samples) of silence at the output position. */
  private pad(n: number): void {
    this.sink.silence(this.outputByte, n);
    this.bytesLost += n;
    this.samplesPadded += n / this.sampleBytes;
    this.outputByte += n;
  }

  /* Takes bytes that continue the stream at `expected`: completes the held sample (data, or
     silence if it is lost), hands over the whole samples in one call, holds the tail. The
     partial-sample copies are loops of at most 7 bytes: cheaper than a subarray allocation. */
  private append(buf: Uint8Array, start: number, length: number): void {
    const s = this.sampleBytes;
    const held = this.held;
    let i = start;
    u64AddInPlace(this.expected, length);
    if (this.heldBytes > 0) {
      let take = s - this.heldBytes;
      if (take > length) take = length;
      if (this.heldIsLost) this.bytesDropped += take;
      else for (let k = 0; k < take; k++) held[this.heldBytes + k] = buf[i + k] as number;
      this.heldBytes += take;
      i += take;
      if (this.heldBytes < s) return;
      if (this.heldIsLost) {
        this.pad(s);
      } else {
        this.sink.data(this.outputByte, held, 0, s);
        this.bytesDelivered += s;
        this.outputByte += s;
      }
      this.heldBytes = 0;
      this.heldIsLost = false;
    }
    const rest = start + length - i;
    const tail = rest % s;
    const whole = rest - tail;
    if (whole > 0) {
      this.sink.data(this.outputByte, buf, i, whole);
      this.bytesDelivered += whole;
      this.outputByte += whole;
      i += whole;
    }
    for (let k = 0; k < tail; k++) held[k] = buf[i + k] as number;
    this.heldBytes = tail;
  }

  /* A gap of `gap` bytes (1 <= gap <= maxGapBytes) before a message. Positions are relative to
     the output position (the start of the held sample): the lost bytes are [held, a), the message
     covers [a, a+length), `boundary` is the first sample boundary at or after a. */
  private bridge(gap: number, buf: Uint8Array, start: number, length: number): void {
    const s = this.sampleBytes;
    if (!this.heldIsLost) this.bytesDropped += this.heldBytes;
    const a = this.heldBytes + gap;
    const r = a % s;
    const boundary = r === 0 ? a : a + s - r;
    u64AddInPlace(this.expected, gap);
    if (a + length >= boundary) {
      const skip = boundary - a;
      this.bytesDropped += skip;
      this.heldBytes = 0;
      this.heldIsLost = false;
      this.pad(boundary);
      u64AddInPlace(this.expected, skip);
      this.append(buf, start + skip, length - skip);
    } else {
      const sampleStart = boundary - s;
      this.bytesDropped += length;
      if (sampleStart > 0) this.pad(sampleStart);
      u64AddInPlace(this.expected, length);
      this.heldBytes = a + length - sampleStart;
      this.heldIsLost = true;
    }
  }

  /* Restarts the stream at `byteIdx` without silence; the output continues contiguously. The
     sample containing byteIdx starts p bytes earlier: those are lost, so it is held as lost. */
  private resync(byteIdx: U64): void {
    const s = this.sampleBytes;
    this.resyncs++;
    if (!this.heldIsLost) this.bytesDropped += this.heldBytes;
    const p = ((((byteIdx.hi % s) * (TWO_POW_32 % s)) % s) + (byteIdx.lo % s)) % s;
    this.expected.hi = byteIdx.hi;
    this.expected.lo = byteIdx.lo;
    this.origin.hi = byteIdx.hi;
    this.origin.lo = byteIdx.lo;
    u64SubInPlace(this.origin, p + this.outputByte);
    this.heldBytes = p;
    this.heldIsLost = p > 0;
  }
}
