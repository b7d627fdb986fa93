/**
 * Paces a stream from a clock anchored at IO start (BEHAVIOUR.md: the frames due at time t are
 * floor(t * rate)). The total is always recomputed from the anchor, never accumulated per tick,
 * so timer jitter and late ticks never turn into rate error: a late tick just finds more due.
 *
 * Sans-IO: the current time is passed in (ms, any monotonic clock: the same one for `start` and
 * later calls). Espruino-safe.
 */

/**
 * Added before flooring the frame count, so that a product that should be an exact integer but
 * comes out a hair below it (float rounding) still counts that frame now rather than one tick
 * later. Far below one frame, and below one ulp once the count passes ~10^7.
 */
const FRAME_EPSILON = 1e-9;

/** Paces one stream: how many bytes are due to be sent at a given time. */
export class Pacer {
  /** Frames per second (Hz). */
  readonly rate: number;
  /** Bytes per frame. */
  readonly frameSize: number;
  /** True between {@link start} and {@link stop}. */
  running = false;
  /** Clock time of IO start, in ms. */
  private anchorMs = 0;
  /** Bytes taken since start. */
  private takenBytes = 0;

  /** `rate`: frames per second (Hz, > 0); `frameSize`: bytes per frame (> 0). */
  constructor(rate: number, frameSize: number) {
    this.rate = rate;
    this.frameSize = frameSize;
  }

  /** Anchors the clock at `nowMs` (IO start): nothing is due yet, nothing taken. */
  start(nowMs: number): void {
    this.anchorMs = nowMs;
    this.takenBytes = 0;
    this.running = true;
  }

  /** Stops pacing: nothing is due until the next {@link start}. */
  stop(): void {
    this.running = false;
  }

  /** Bytes taken since start. */
  get taken(): number {
    return this.takenBytes;
  }

  /**
   * Frames due in total from start to `nowMs`: floor(elapsed ms x rate / 1000), exact whenever
   * the product is an exact integer (the multiplication comes first). 0 before start or when the
   * clock reads earlier than the anchor. Never decreases as `nowMs` grows.
   */
  framesAt(nowMs: number): number {
    if (!this.running) return 0;
    const elapsed = nowMs - this.anchorMs;
    if (!(elapsed > 0)) return 0;
    return Math.floor((elapsed * this.rate) / 1000 + FRAME_EPSILON);
  }

  /**
   * Bytes due at `nowMs` and not yet taken: whole frames since start minus what was taken.
   * Never negative (0 when more was taken than is due).
   */
  due(nowMs: number): number {
    const d = this.framesAt(nowMs) * this.frameSize - this.takenBytes;
    return Math.max(d, 0);
  }

  /** Records that `nBytes` were sent. Taking more than is due delays what comes next. */
  take(nBytes: number): void {
    this.takenBytes += nBytes;
  }

  /**
   * Earliest clock time (ms) at which `due` reaches `nBytes` more than has been taken: a timer
   * deadline for the caller. Nudged forward (by at most about 1 ms, only when float rounding
   * requires it) so that `due(dueAtMs(n)) >= n`. Meaningless before start.
   */
  dueAtMs(nBytes: number): number {
    const frames = Math.ceil((this.takenBytes + nBytes) / this.frameSize);
    let t = this.anchorMs + (frames * 1000) / this.rate;
    let step = 0.000001;
    for (let k = 0; k < 20 && this.framesAt(t) < frames; k++) {
      t += step;
      step *= 2;
    }
    return t;
  }
}
