/**
 * One seeded impairment layer (smoltcp's fault injector) that wraps any {@link DatagramTransport}
 * (the memory network's, the UDP one, another impaired one) and is itself one, so engines and
 * tests see no difference. On the chosen direction(s) each datagram goes through, in order:
 *
 * 1. loss: independent (Bernoulli, `loss`) and bursty (Gilbert-Elliott: before each datagram the
 *    channel turns bad with `burstStart` or good again with `burstEnd`; while bad a datagram is
 *    lost with `burstLoss`). Lost if either says so.
 * 2. duplication: with `duplicate`, a second copy follows the first through the later stages.
 * 3. reordering: with `reorder`, a copy is held back until `reorderPackets` later datagrams have
 *    gone past it, or for `reorderDelayMs`, whichever comes first.
 * 4. delay: `delayMs` + uniform jitter in [0, `jitterMs`) + with `tailProbability` a Pareto-tailed
 *    extra (the rare long stall of Wi-Fi retries and power save), capped at `tailCapMs`. Jitter
 *    reorders too, as on a real network; only stage 3 counts as `reordered`.
 *
 * Every random decision comes from a seeded xoshiro128** with its own stream per decision kind and
 * direction, so the same seed drops the same datagrams whatever the delay settings are, and
 * whatever arrives on the other direction. Datagrams that pass every stage at once are handed on
 * synchronously without a copy; held ones are copied (the bytes belong to the caller only during
 * the call). At most `maxHeld` datagrams are held at once per direction; more are dropped and
 * counted as `overflowed`.
 *
 * To impair the two directions differently, wrap twice, one direction each.
 */

import type { DatagramTransport, TransportError } from "../../shared/transport.js";
import { TransportBase } from "./base.js";
import { mixSeed, Xoshiro128 } from "./prng.js";

/**
 * Runs `fn` once after `delayMs` ms: `setTimeout` over real sockets, `MemoryNetwork.schedule`
 * over the virtual clock.
 */
export type Schedule = (fn: () => void, delayMs: number) => void;

/** Which traffic is impaired: what this transport sends, what it receives, or both. */
export type ImpairDirection = "send" | "receive" | "both";

/** The fault settings, changeable while running with {@link ImpairedTransport.configure}. */
export interface ImpairmentProfile {
  /** Probability that a datagram is lost, independently of any other. Defaults to 0. */
  loss: number;
  /** Gilbert-Elliott p: probability per datagram that a good channel turns bad. Defaults to 0 (no bursts). */
  burstStart: number;
  /** Gilbert-Elliott r: probability per datagram that a bad channel turns good (mean bad run: 1/r datagrams). Defaults to 0.25. */
  burstEnd: number;
  /** Probability that a datagram is lost while the channel is bad. Defaults to 1. */
  burstLoss: number;
  /** Probability that a datagram is sent on twice. Defaults to 0. */
  duplicate: number;
  /** Probability that a datagram is held back (reordered). Defaults to 0. */
  reorder: number;
  /** A held datagram goes on right after this many later ones have; Infinity: by time only. Defaults to 1. */
  reorderPackets: number;
  /** Longest hold (ms) of a reordered datagram, so none waits for ever when traffic stops; Infinity: by count only. Defaults to 50. */
  reorderDelayMs: number;
  /** Fixed delay (ms) added to every datagram. Defaults to 0. */
  delayMs: number;
  /** Uniform extra delay (ms) in [0, jitterMs). Defaults to 0. */
  jitterMs: number;
  /**
   * Whether delayed datagrams keep their order, as on one FIFO link (a datagram whose delay ends
   * first waits for the one before it): jitter then varies delay without reordering, leaving
   * reordering to `reorder`. False by default: each delay is independent, so jitter larger than
   * the spacing of datagrams reorders them, as Linux netem's does.
   */
  keepOrder: boolean;
  /** Probability that a datagram gets a Pareto-distributed extra delay. Defaults to 0. */
  tailProbability: number;
  /** Pareto scale x_m (ms): the smallest tail delay; P(extra > x) = (x_m / x)^shape. Defaults to 5. */
  tailScaleMs: number;
  /** Pareto shape alpha: smaller is heavier (below 2 the variance is infinite). Defaults to 1.5. */
  tailShape: number;
  /** Largest tail delay (ms). Defaults to 500. */
  tailCapMs: number;
}

/** Options of {@link ImpairedTransport}. */
export interface ImpairmentOptions extends ImpairmentProfile {
  /** Seed of every random decision (low 32 bits). Defaults to 1. */
  seed: number;
  /** Which traffic to impair. Defaults to "send". */
  direction: ImpairDirection;
  /** Most datagrams held (reordered or delayed) at once per direction. Defaults to 1000. */
  maxHeld: number;
  /** Timer for delays and reorder timeouts. Defaults to `setTimeout`. */
  schedule: Schedule;
  /**
   * Whether `close` also closes the wrapped transport. With false, `close` only stops the
   * impairment, drops what it holds and lets go of the wrapped transport's handlers, which keeps
   * working for whoever sets new ones. Defaults to true.
   */
  closeInner: boolean;
}

/** Counts of one direction, for comparing what a protocol reports with what was injected. */
export interface ImpairmentStats {
  /** Datagrams that entered the layer. */
  sent: number;
  /** Datagrams lost by the loss stage (independent or burst). */
  dropped: number;
  /** Datagrams of those lost while the Gilbert-Elliott channel was bad. */
  droppedInBurst: number;
  /** Extra copies made. */
  duplicated: number;
  /** Copies held back by the reorder stage. */
  reordered: number;
  /** Copies given a delay above 0 ms. */
  delayed: number;
  /** Copies dropped because `maxHeld` were already held. */
  overflowed: number;
  /** Copies handed on (to the wrapped transport's send, or to the datagram handler). */
  delivered: number;
}

const PROFILE_DEFAULTS: ImpairmentProfile = {
  loss: 0,
  burstStart: 0,
  burstEnd: 0.25,
  burstLoss: 1,
  duplicate: 0,
  reorder: 0,
  reorderPackets: 1,
  reorderDelayMs: 50,
  delayMs: 0,
  jitterMs: 0,
  keepOrder: false,
  tailProbability: 0,
  tailScaleMs: 5,
  tailShape: 1.5,
  tailCapMs: 500,
};

/**
 * A rough Wi-Fi-like profile for jitter-buffer tests: a millisecond or two of jitter, one
 * datagram in 50 stalled by a heavy tail of up to 250 ms, rare loss. Shaped by hand, not measured.
 */
export const WIFI_LIKE: Readonly<Partial<ImpairmentProfile>> = {
  loss: 0.002,
  delayMs: 1,
  jitterMs: 2,
  tailProbability: 0.02,
  tailScaleMs: 4,
  tailShape: 1.3,
  tailCapMs: 250,
};

const PROBABILITIES = [
  "loss",
  "burstStart",
  "burstEnd",
  "burstLoss",
  "duplicate",
  "reorder",
  "tailProbability",
] as const;
const DURATIONS = ["delayMs", "jitterMs", "tailScaleMs", "tailCapMs"] as const;

function checkProfile(p: ImpairmentProfile): void {
  for (const key of PROBABILITIES) {
    const v = p[key];
    if (!(v >= 0 && v <= 1))
      throw new RangeError(`"${key}" must be a probability from 0 to 1, got ${String(v)}`);
  }
  for (const key of DURATIONS) {
    const v = p[key];
    if (!(v >= 0 && v < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`"${key}" must be a finite number of ms >= 0, got ${String(v)}`);
    }
  }
  if (typeof p.keepOrder !== "boolean") {
    throw new RangeError(`"keepOrder" must be true or false, got ${String(p.keepOrder)}`);
  }
  if (!(p.tailShape > 0 && p.tailShape < Number.POSITIVE_INFINITY)) {
    throw new RangeError(`"tailShape" must be a finite number > 0, got ${String(p.tailShape)}`);
  }
  if (
    !(
      p.reorderPackets === Number.POSITIVE_INFINITY ||
      (Number.isInteger(p.reorderPackets) && p.reorderPackets >= 1)
    )
  ) {
    throw new RangeError(
      `"reorderPackets" must be an integer >= 1 or Infinity, got ${String(p.reorderPackets)}`,
    );
  }
  if (!(p.reorderDelayMs >= 0)) {
    throw new RangeError(
      `"reorderDelayMs" must be a number of ms >= 0 or Infinity, got ${String(p.reorderDelayMs)}`,
    );
  }
  if (p.reorderPackets === Number.POSITIVE_INFINITY && p.reorderDelayMs === Number.POSITIVE_INFINITY) {
    throw new RangeError(
      `"reorderPackets" and "reorderDelayMs" cannot both be Infinity (a held datagram would never go)`,
    );
  }
}

function mergeProfile(
  base: ImpairmentProfile,
  changes: Partial<Readonly<ImpairmentProfile>> | undefined,
): ImpairmentProfile {
  const merged: ImpairmentProfile = { ...base };
  if (changes === undefined) return merged;
  // Only the profile's own keys are taken (options objects carry seed, direction... too).
  const into = merged as unknown as Record<string, unknown>;
  for (const key of Object.keys(PROFILE_DEFAULTS) as Array<keyof ImpairmentProfile>) {
    const v = changes[key];
    if (v !== undefined) into[key] = v;
  }
  return merged;
}

const defaultSchedule: Schedule = (fn, delayMs) => {
  setTimeout(fn, delayMs);
};

/** Where a direction hands its datagrams on. */
type Sink = (data: Uint8Array, address: string, port: number) => void;

/** A datagram held by the reorder stage. */
interface Held {
  readonly data: Uint8Array;
  readonly address: string;
  readonly port: number;
  /** Later datagrams still to go past before this one goes. */
  remaining: number;
  /** Already released (by count or by time). */
  done: boolean;
}

/** A datagram in the delay stage's FIFO (`keepOrder`): it goes once it is ready and first. */
interface Queued {
  readonly data: Uint8Array;
  readonly address: string;
  readonly port: number;
  /** Its own delay has passed. */
  ready: boolean;
}

function emptyStats(): ImpairmentStats {
  return {
    sent: 0,
    dropped: 0,
    droppedInBurst: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    overflowed: 0,
    delivered: 0,
  };
}

/** Stream numbers of the per-decision generators (see `mixSeed`). */
const STREAM_LOSS = 0;
const STREAM_BURST = 1;
const STREAM_DUPLICATE = 2;
const STREAM_REORDER = 3;
const STREAM_DELAY = 4;
const STREAMS_PER_DIRECTION = 8;

/** The four stages for one direction, with its own state and generators. */
class ImpairedPath {
  readonly stats: ImpairmentStats = emptyStats();
  /** Datagrams held right now (reorder stage and delay stage). */
  holding = 0;

  private readonly lossRng: Xoshiro128;
  private readonly burstRng: Xoshiro128;
  private readonly duplicateRng: Xoshiro128;
  private readonly reorderRng: Xoshiro128;
  private readonly delayRng: Xoshiro128;
  private bad = false;
  private heldBack: Held[] = [];
  /** Datagrams of the delay stage in arrival order, while `keepOrder` (or draining after it). */
  private fifo: Queued[] = [];
  private closed = false;

  constructor(
    seed: number,
    directionIndex: number,
    private profile: ImpairmentProfile,
    private readonly maxHeld: number,
    private readonly schedule: Schedule,
    private readonly sink: Sink,
  ) {
    const base = directionIndex * STREAMS_PER_DIRECTION;
    this.lossRng = new Xoshiro128(mixSeed(seed, base + STREAM_LOSS));
    this.burstRng = new Xoshiro128(mixSeed(seed, base + STREAM_BURST));
    this.duplicateRng = new Xoshiro128(mixSeed(seed, base + STREAM_DUPLICATE));
    this.reorderRng = new Xoshiro128(mixSeed(seed, base + STREAM_REORDER));
    this.delayRng = new Xoshiro128(mixSeed(seed, base + STREAM_DELAY));
  }

  setProfile(profile: ImpairmentProfile): void {
    this.profile = profile;
  }

  close(): void {
    this.closed = true;
    this.heldBack = [];
    this.fifo = [];
    this.holding = 0;
  }

  /** Takes one datagram through the four stages. `data` is only borrowed for the call. */
  process(data: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    const p = this.profile;
    this.stats.sent++;

    // 1. Loss. Each generator draws the same count per datagram whatever the settings, so the
    // decisions of one datagram do not depend on the settings in force for earlier ones.
    const independent = this.lossRng.next() < p.loss;
    const flip = this.burstRng.next();
    const burstDraw = this.burstRng.next();
    this.bad = this.bad ? !(flip < p.burstEnd) : flip < p.burstStart;
    const inBurst = this.bad && burstDraw < p.burstLoss;
    if (independent || inBurst) {
      this.stats.dropped++;
      if (inBurst) this.stats.droppedInBurst++;
      return;
    }

    // 2. Duplication.
    const twice = this.duplicateRng.next() < p.duplicate;
    if (twice) this.stats.duplicated++;
    this.reorderStage(data, false, address, port);
    if (twice) this.reorderStage(data, false, address, port);
  }

  /** 3. Holds the copy back, or sends it on and counts it against the held ones. */
  private reorderStage(data: Uint8Array, owned: boolean, address: string, port: number): void {
    const p = this.profile;
    if (this.reorderRng.next() < p.reorder) {
      if (!this.reserve()) return;
      this.stats.reordered++;
      const held: Held = {
        data: owned ? data : data.slice(),
        address,
        port,
        remaining: p.reorderPackets,
        done: false,
      };
      this.heldBack.push(held);
      if (p.reorderDelayMs !== Number.POSITIVE_INFINITY) {
        this.schedule(() => this.releaseByTime(held), p.reorderDelayMs);
      }
      return;
    }
    this.delayStage(data, owned, address, port);
    if (this.heldBack.length === 0) return;
    // Count this datagram against every held one; release (in the order they were held) those
    // it was the last one to wait for. Collect first: delivering may re-enter this transport.
    let released: Held[] | null = null;
    const keep: Held[] = [];
    for (const h of this.heldBack) {
      h.remaining--;
      if (h.remaining <= 0) {
        h.done = true;
        if (released === null) released = [];
        released.push(h);
      } else {
        keep.push(h);
      }
    }
    if (released === null) return;
    this.heldBack = keep;
    for (const h of released) {
      this.holding--;
      this.delayStage(h.data, true, h.address, h.port);
    }
  }

  private releaseByTime(held: Held): void {
    if (this.closed || held.done) return;
    held.done = true;
    const i = this.heldBack.indexOf(held);
    if (i >= 0) this.heldBack.splice(i, 1);
    this.holding--;
    this.delayStage(held.data, true, held.address, held.port);
  }

  /** 4. Hands the copy on now, or after its delay. */
  private delayStage(data: Uint8Array, owned: boolean, address: string, port: number): void {
    const p = this.profile;
    const jitterDraw = this.delayRng.next();
    const tailCoin = this.delayRng.next();
    const tailDraw = this.delayRng.nextOpen();
    let delay = p.delayMs + jitterDraw * p.jitterMs;
    if (tailCoin < p.tailProbability) {
      delay += Math.min(p.tailCapMs, p.tailScaleMs * tailDraw ** (-1 / p.tailShape));
    }
    if (p.keepOrder || this.fifo.length > 0) {
      this.enqueue(data, owned, address, port, delay);
      return;
    }
    if (!(delay > 0)) {
      this.deliver(data, address, port);
      return;
    }
    if (!this.reserve()) return;
    this.stats.delayed++;
    const bytes = owned ? data : data.slice();
    this.schedule(() => {
      if (this.closed) return;
      this.holding--;
      this.deliver(bytes, address, port);
    }, delay);
  }

  /** The order-keeping delay: the copy joins the FIFO and goes when ready and at its head. */
  private enqueue(data: Uint8Array, owned: boolean, address: string, port: number, delay: number): void {
    if (!(delay > 0) && this.fifo.length === 0) {
      this.deliver(data, address, port);
      return;
    }
    if (!this.reserve()) return;
    if (delay > 0) this.stats.delayed++;
    const q: Queued = { data: owned ? data : data.slice(), address, port, ready: !(delay > 0) };
    this.fifo.push(q);
    if (q.ready) return;
    this.schedule(() => {
      if (this.closed) return;
      q.ready = true;
      this.drain();
    }, delay);
  }

  /** Delivers the FIFO's ready head, and every ready one after it. */
  private drain(): void {
    while (this.fifo.length > 0 && (this.fifo[0] as Queued).ready) {
      const q = this.fifo.shift() as Queued;
      this.holding--;
      this.deliver(q.data, q.address, q.port);
    }
  }

  /** Takes one of the `maxHeld` places, or counts an overflow. */
  private reserve(): boolean {
    if (this.holding >= this.maxHeld) {
      this.stats.overflowed++;
      return false;
    }
    this.holding++;
    return true;
  }

  private deliver(data: Uint8Array, address: string, port: number): void {
    this.stats.delivered++;
    this.sink(data, address, port);
  }
}

/** A {@link DatagramTransport} that impairs the traffic of the one it wraps (see the file comment). */
export class ImpairedTransport extends TransportBase implements DatagramTransport {
  /** Counts per direction (a direction that is not impaired stays at zero). */
  readonly stats: { readonly send: ImpairmentStats; readonly receive: ImpairmentStats };

  private readonly sendPath: ImpairedPath | null;
  private readonly receivePath: ImpairedPath | null;
  private readonly closeInner: boolean;
  private profile: ImpairmentProfile;

  constructor(
    private readonly inner: DatagramTransport,
    options?: Partial<Readonly<ImpairmentOptions>>,
  ) {
    super();
    const profile = mergeProfile(PROFILE_DEFAULTS, options);
    checkProfile(profile);
    const seed = options?.seed ?? 1;
    const direction = options?.direction ?? "send";
    const maxHeld = options?.maxHeld ?? 1000;
    const schedule = options?.schedule ?? defaultSchedule;
    if (!Number.isFinite(seed)) throw new RangeError(`"seed" must be a finite number, got ${String(seed)}`);
    if (direction !== "send" && direction !== "receive" && direction !== "both") {
      throw new RangeError(
        `"direction" must be "send", "receive" or "both", got ${JSON.stringify(direction)}`,
      );
    }
    if (!(Number.isInteger(maxHeld) && maxHeld >= 0)) {
      throw new RangeError(`"maxHeld" must be an integer >= 0, got ${String(maxHeld)}`);
    }
    this.profile = profile;
    this.closeInner = options?.closeInner ?? true;
    this.sendPath =
      direction === "receive" ? null : new ImpairedPath(seed, 0, profile, maxHeld, schedule, this.sendOn);
    this.receivePath =
      direction === "send" ? null : new ImpairedPath(seed, 1, profile, maxHeld, schedule, this.receiveOn);
    this.stats = {
      send: this.sendPath === null ? emptyStats() : this.sendPath.stats,
      receive: this.receivePath === null ? emptyStats() : this.receivePath.stats,
    };
    inner.onDatagram(this.onInnerDatagram);
    inner.onError(this.onInnerError);
  }

  get localAddress(): string {
    return this.inner.localAddress;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  /** Datagrams held (reordered or delayed) right now, both directions together. */
  get held(): number {
    return (
      (this.sendPath === null ? 0 : this.sendPath.holding) +
      (this.receivePath === null ? 0 : this.receivePath.holding)
    );
  }

  /** The fault settings in force. */
  get settings(): Readonly<ImpairmentProfile> {
    return this.profile;
  }

  /**
   * Changes fault settings from the next datagram on (cut the link with `{ loss: 1 }`, restore it
   * later); the ones not given keep their values. Held datagrams keep their schedule, and the
   * random streams carry on, so a run stays reproducible.
   */
  configure(changes: Partial<Readonly<ImpairmentProfile>>): void {
    const profile = mergeProfile(this.profile, changes);
    checkProfile(profile);
    this.profile = profile;
    if (this.sendPath !== null) this.sendPath.setProfile(profile);
    if (this.receivePath !== null) this.receivePath.setProfile(profile);
  }

  send(data: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    if (this.sendPath === null) this.inner.send(data, address, port);
    else this.sendPath.process(data, address, port);
  }

  close(): void {
    if (!this.markClosed()) return;
    if (this.sendPath !== null) this.sendPath.close();
    if (this.receivePath !== null) this.receivePath.close();
    if (this.closeInner) {
      this.inner.close();
    } else {
      this.inner.onDatagram(null);
      this.inner.onError(null);
    }
  }

  private readonly sendOn = (data: Uint8Array, address: string, port: number): void => {
    this.inner.send(data, address, port);
  };

  private readonly receiveOn = (data: Uint8Array, address: string, port: number): void => {
    const handler = this.handler;
    if (handler !== null) handler(data, address, port);
  };

  private readonly onInnerDatagram = (data: Uint8Array, address: string, port: number): void => {
    if (this.closed) return;
    if (this.receivePath === null) this.receiveOn(data, address, port);
    else this.receivePath.process(data, address, port);
  };

  private readonly onInnerError = (error: TransportError): void => {
    const handler = this.errorHandler;
    if (handler !== null && !this.closed) handler(error);
  };
}

/** Wraps `inner` in an {@link ImpairedTransport}. */
export function impair(
  inner: DatagramTransport,
  options?: Partial<Readonly<ImpairmentOptions>>,
): ImpairedTransport {
  return new ImpairedTransport(inner, options);
}
