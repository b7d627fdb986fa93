/**
 * A jitter buffer for the live playout of one input stream. Sans-IO: arrival and playout times
 * are passed in (ms, one monotonic clock for both), nothing here reads a clock or sets a timer.
 *
 * Input is a {@link StreamReceiver}'s aligned output (data and silence at output byte offsets,
 * in order), each put stamped with its arrival time. Output is pulled by a playout clock:
 * `pull(now)` hands over the frames whose playout time has come, at the stream's rate.
 *
 * Timing. The first put anchors the playout: if it holds output byte `b` and arrives at `t0`,
 * output frame `f` is due at `start + (f + 1) / rate`, where `start = t0 - b / byteRate +
 * targetLatencyMs` (ms, rate in frames/ms). So a stream that arrives as regularly as it was paced
 * is played exactly `targetLatencyMs` after it arrives, and every packet may come up to
 * `targetLatencyMs` later than the first one did (relative to its byte index) and still be on
 * time. `framesDue(t)` = frames due by `t` = `floor((t - start) * rate)`.
 *
 * Rules, per frame:
 * - **late**: bytes of a frame already due when they arrive (or already played) are dropped and
 *   counted in `lateBytes`; the frame plays as silence (a frame completed late is not played);
 * - **underrun**: a frame due with no complete data is played as silence, counted in
 *   `underrunFrames` (and each run of them once in `underruns`);
 * - **overflow**: bytes of a frame `capacityFrames` or more ahead of the next frame to play
 *   (no room in the ring) are dropped and counted in `overflowBytes`.
 * Silence the receiver put in for lost samples is data here: it plays as it is and is no underrun.
 *
 * This buffer never touches a recording: record the receiver's output directly (wav.ts), so that
 * a recording keeps every frame whatever the playout latency (BEHAVIOUR.md).
 */

import type { StreamSink } from "../../shared/audio/receiver.js";
import { type Format, fillSilence, frameSize, type SampleType } from "../../shared/format.js";

/** Options of a {@link JitterBuffer}. */
export interface JitterOptions {
  /** Delay (ms) between a regular packet's arrival and its playout. Defaults to 20 (DEFAULT_TARGET_LATENCY_MS, the CLI's too). */
  targetLatencyMs: number;
  /**
   * Audio the ring holds (ms), at least `targetLatencyMs`: data further ahead of the playout is
   * dropped as overflow. Defaults to 4 x `targetLatencyMs`, at least 100 ms.
   */
  capacityMs: number;
}

/** Default target latency (ms). */
export const DEFAULT_TARGET_LATENCY_MS = 20;

/** Largest ring accepted (bytes): a guard against absurd formats or options. */
const MAX_RING_BYTES = 1 << 30;

/* Guards the floor of (t - start) * rate against rounding just below an integer. */
const FRAME_EPSILON = 1e-6;

/** The playout counters, as stats.ts reads them. */
export interface PlayoutCounters {
  /** Bytes dropped because their frame was already due when they arrived. */
  lateBytes: number;
  /** Frames played as silence because their data was not there in time. */
  underrunFrames: number;
  /** Runs of consecutive underrun frames. */
  underruns: number;
  /** Bytes dropped because the ring had no room for them. */
  overflowBytes: number;
  /** Frames handed to the playout (data, padding or underrun silence). */
  framesPlayed: number;
}

/** The live playout buffer of one stream. Usable as a receiver's {@link StreamSink}. */
export class JitterBuffer implements StreamSink, PlayoutCounters {
  /** Bytes per frame. */
  readonly frameBytes: number;
  /** Frames per second (Hz). */
  readonly sampleRate: number;
  /** The stream's sample type (what silence is). */
  readonly sampleType: SampleType;
  /** Target latency (ms). */
  readonly targetLatencyMs: number;
  /** Frames the ring holds. */
  readonly capacityFrames: number;
  /**
   * Arrival time (ms) of the puts made through the {@link StreamSink} methods: set it before
   * handing a message to the receiver that feeds this buffer.
   */
  arrivalMs = 0;
  /** The next frame to play (frames played so far, counting from output frame 0). */
  readFrame = 0;

  /** Bytes put in (data and silence), whatever became of them. */
  bytesIn = 0;
  lateBytes = 0;
  underrunFrames = 0;
  underruns = 0;
  overflowBytes = 0;
  framesPlayed = 0;

  private readonly ring: Uint8Array;
  /** Per ring slot: the frame whose complete data it holds, or -1. */
  private readonly stamp: Float64Array;
  private anchored = false;
  /** Playout time (ms) at which frame 0 starts; frame f is due at start + (f+1)/rate. */
  private startMs = 0;
  /** Output byte after the last byte accepted into the ring (-1: none yet). */
  private acceptedEnd = -1;
  /** First output byte of the current unbroken run of accepted bytes. */
  private runStart = 0;
  private inUnderrun = false;

  /**
   * `format` is the stream's (rate, channel count and sample type are used). Throws when an
   * option is out of range or the ring would exceed 1 GiB.
   */
  constructor(
    format: Pick<Format, "sampleRate" | "channelCount" | "sampleType">,
    options?: Partial<Readonly<JitterOptions>>,
  ) {
    const o = options ?? {};
    const target = o.targetLatencyMs ?? DEFAULT_TARGET_LATENCY_MS;
    if (!(target >= 0 && Number.isFinite(target))) {
      throw new Error(`"targetLatencyMs" must be a finite number >= 0, got ${target}`);
    }
    const capacityMs = o.capacityMs ?? Math.max(4 * target, 100);
    if (!(capacityMs >= target && Number.isFinite(capacityMs))) {
      throw new Error(
        `"capacityMs" (${capacityMs}) must be finite and at least "targetLatencyMs" (${target})`,
      );
    }
    this.frameBytes = frameSize({ ...format, bufferSize: 0 });
    this.sampleRate = format.sampleRate;
    this.sampleType = format.sampleType;
    this.targetLatencyMs = target;
    this.capacityFrames = Math.max(1, Math.ceil((capacityMs * format.sampleRate) / 1000));
    const ringBytes = this.capacityFrames * this.frameBytes;
    if (!(ringBytes <= MAX_RING_BYTES)) {
      throw new Error(`a jitter buffer of ${ringBytes} bytes is too large (at most 1 GiB)`);
    }
    this.ring = new Uint8Array(ringBytes);
    this.stamp = new Float64Array(this.capacityFrames).fill(-1);
  }

  /** Back to the state before the first put: unanchored, empty, counters at zero. */
  reset(): void {
    this.arrivalMs = 0;
    this.readFrame = 0;
    this.bytesIn = 0;
    this.lateBytes = 0;
    this.underrunFrames = 0;
    this.underruns = 0;
    this.overflowBytes = 0;
    this.framesPlayed = 0;
    this.stamp.fill(-1);
    this.anchored = false;
    this.startMs = 0;
    this.acceptedEnd = -1;
    this.runStart = 0;
    this.inUnderrun = false;
  }

  /** True once a put anchored the playout clock. */
  get started(): boolean {
    return this.anchored;
  }

  /** Time (ms) at which output frame `f` is due (NaN before the first put). */
  dueTimeMs(f: number): number {
    if (!this.anchored) return Number.NaN;
    return this.startMs + ((f + 1) * 1000) / this.sampleRate;
  }

  /** Frames due by `nowMs` (0 before the first put): the playout position the clock asks for. */
  framesDue(nowMs: number): number {
    if (!this.anchored) return 0;
    const x = ((nowMs - this.startMs) * this.sampleRate) / 1000;
    return x > 0 ? Math.floor(x + FRAME_EPSILON) : 0;
  }

  /** Complete frames in the ring from the play position on, without a hole. */
  get bufferedFrames(): number {
    let n = 0;
    let f = this.readFrame;
    while (n < this.capacityFrames && this.stamp[f % this.capacityFrames] === f) {
      n++;
      f++;
    }
    return n;
  }

  /** Puts `buf[start .. start+length)` as output bytes `[outByte, outByte+length)`, arrived at `arrivalMs`. */
  put(outByte: number, buf: Uint8Array, start: number, length: number, arrivalMs: number): void {
    this.take(outByte, length, arrivalMs, buf, start);
  }

  /** Puts `length` bytes of silence (lost samples) at output bytes `[outByte, outByte+length)`. */
  putSilence(outByte: number, length: number, arrivalMs: number): void {
    this.take(outByte, length, arrivalMs, undefined, 0);
  }

  /** {@link StreamSink}: {@link put} at `arrivalMs`. */
  data(outByte: number, buf: Uint8Array, start: number, length: number): void {
    this.take(outByte, length, this.arrivalMs, buf, start);
  }

  /** {@link StreamSink}: {@link putSilence} at `arrivalMs`. */
  silence(outByte: number, length: number): void {
    this.take(outByte, length, this.arrivalMs, undefined, 0);
  }

  /**
   * The playout clock: writes the frames due by `nowMs` and not yet played, at most `maxFrames`,
   * into `out` from byte `outStart` (interleaved, as on the wire), and returns how many. Frames
   * without complete data in time are silence. Pulling less than is due leaves the rest for the
   * next pull; it does not delay what counts as late.
   */
  pull(nowMs: number, out: Uint8Array, outStart: number, maxFrames: number): number {
    const room = Math.floor((out.length - outStart) / this.frameBytes);
    const n = Math.max(0, Math.min(maxFrames, room, this.framesDue(nowMs) - this.readFrame));
    const fb = this.frameBytes;
    const cap = this.capacityFrames;
    let f = this.readFrame;
    const end = f + n;
    let pos = outStart;
    while (f < end) {
      const slot = f % cap;
      let run = 1;
      if (this.stamp[slot] === f) {
        while (f + run < end && slot + run < cap && this.stamp[slot + run] === f + run) run++;
        out.set(this.ring.subarray(slot * fb, (slot + run) * fb), pos);
        this.inUnderrun = false;
      } else {
        while (f + run < end && this.stamp[(f + run) % cap] !== f + run) run++;
        fillSilence(out, pos, run * fb, this.sampleType, 0);
        if (!this.inUnderrun) this.underruns++;
        this.inUnderrun = true;
        this.underrunFrames += run;
      }
      f += run;
      pos += run * fb;
    }
    this.readFrame = end;
    this.framesPlayed += n;
    return n;
  }

  /* One put: split into late, accepted and overflow bytes; copy (or silence) the accepted ones
     into the ring and stamp the frames they complete. */
  private take(
    outByte: number,
    length: number,
    arrivalMs: number,
    buf: Uint8Array | undefined,
    start: number,
  ): void {
    if (!(length > 0)) return;
    this.bytesIn += length;
    const fb = this.frameBytes;
    const cap = this.capacityFrames;
    if (!this.anchored) {
      this.anchored = true;
      this.startMs = arrivalMs - (outByte * 1000) / (this.sampleRate * fb) + this.targetLatencyMs;
    }
    const end = outByte + length;
    const lateLimit = Math.max(this.readFrame, this.framesDue(arrivalMs)) * fb;
    const roomLimit = (this.readFrame + cap) * fb;
    const lo = Math.max(outByte, Math.min(lateLimit, end));
    const hi = Math.max(lo, Math.min(end, roomLimit));
    this.lateBytes += lo - outByte;
    this.overflowBytes += end - hi;
    if (lo === hi) return;
    if (lo !== this.acceptedEnd) this.runStart = lo;
    this.acceptedEnd = hi;
    const ringBytes = cap * fb;
    let b = lo;
    while (b < hi) {
      const at = b % ringBytes;
      const k = Math.min(hi - b, ringBytes - at);
      if (buf === undefined) fillSilence(this.ring, at, k, this.sampleType, b);
      else this.ring.set(buf.subarray(start + (b - outByte), start + (b - outByte) + k), at);
      b += k;
    }
    // Frames whose last byte is in [lo, hi) and whose first byte is in this unbroken run.
    let f = Math.ceil(this.runStart / fb);
    const firstEnding = Math.floor(lo / fb);
    if (f < firstEnding) f = firstEnding;
    const lastFrame = Math.floor(hi / fb);
    for (; f < lastFrame; f++) this.stamp[f % cap] = f;
  }
}
