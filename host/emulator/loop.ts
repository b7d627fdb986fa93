/**
 * One board's interpreter loop, after Espruino's `jsiIdle`: each PASS runs the timers that are
 * due (in due-time order, then creation order), then the queued events (socket messages, bind
 * callbacks, Wi-Fi events...) in arrival order, then the "after pass" hooks (where the dgram
 * queues restart counting). Events that arrive while a pass runs wait for the next one. Nothing of
 * the board runs outside a pass, and every callback's throw is caught and reported as Espruino
 * does (`process.on('uncaughtException')`, else "Uncaught ..." on the console).
 *
 * Timing: passes are Node macrotasks (a due timer wakes the loop through one Node timer; an event
 * through setImmediate). Timers are in milliseconds (fractions allowed) on performance.now();
 * intervals re-arm from their due time, not from when they ran, like Espruino. Node timers have
 * about 1 ms resolution, and a pass takes what the JavaScript takes on a PC, many times less than
 * on an ESP32 (whose scheduler tick is 10 ms): the emulator is faithful in order, not in speed.
 */

import { performance } from "node:perf_hooks";

interface Timer {
  readonly id: number;
  /** Due time, ms on performance.now(). */
  due: number;
  /** 0 for a timeout, else the interval in ms. */
  readonly every: number;
  readonly seq: number;
  readonly run: () => void;
  /** The JavaScript callback (for memory estimates). */
  readonly callback: unknown;
}

/** A snapshot of the loop's counters. */
export interface LoopStats {
  passes: number;
  timersRun: number;
  eventsRun: number;
  uncaught: number;
}

/** Timers run by one pass within this many ms of their due time (Node timers fire ~1 ms early). */
const EARLY_MS = 0.5;

export class EventLoop {
  private timers: Timer[] = [];
  private events: (() => void)[] = [];
  private readonly afterPass: (() => void)[] = [];
  private nextId = 1;
  private seq = 0;
  private hostTimer: NodeJS.Timeout | undefined;
  private hostTimerAt = Number.POSITIVE_INFINITY;
  private immediate: NodeJS.Immediate | undefined;
  private running = false;
  private stopped = false;
  readonly stats: LoopStats = { passes: 0, timersRun: 0, eventsRun: 0, uncaught: 0 };

  /** @param report called with every exception a callback throws. */
  constructor(private readonly report: (e: unknown) => void) {}

  /** Current time in ms (performance.now()). */
  now(): number {
    return performance.now();
  }

  /** Adds a timer; returns its id (a number, as on Espruino, never 0). */
  addTimer(run: () => void, ms: number, repeat: boolean, callback: unknown): number {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const id = this.nextId++;
    this.timers.push({
      id,
      due: this.now() + delay,
      every: repeat ? Math.max(delay, 1) : 0,
      seq: this.seq++,
      run,
      callback,
    });
    this.arm();
    return id;
  }

  /** Removes a timer; true when it existed. Without an id, removes every timer. */
  clearTimer(id?: number): boolean {
    if (id === undefined) {
      const had = this.timers.length > 0;
      this.timers = [];
      this.arm();
      return had;
    }
    const before = this.timers.length;
    this.timers = this.timers.filter((t) => t.id !== id);
    this.arm();
    return this.timers.length !== before;
  }

  /** Changes an interval's period (Espruino's changeInterval); false when there is no such timer. */
  changeInterval(id: number, ms: number): boolean {
    const i = this.timers.findIndex((t) => t.id === id);
    const t = this.timers[i];
    if (t === undefined) return false;
    const every = Math.max(Number.isFinite(ms) ? ms : 1, 1);
    this.timers[i] = { ...t, every, due: this.now() + every };
    this.arm();
    return true;
  }

  /** The callbacks of all pending timers (roots for memory estimates). */
  timerCallbacks(): unknown[] {
    return this.timers.map((t) => t.callback);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  get pendingEvents(): number {
    return this.events.length;
  }

  /** Queues `fn` for the next pass. */
  post(fn: () => void): void {
    if (this.stopped) return;
    this.events.push(fn);
    this.arm();
  }

  /** Registers a hook run at the end of every pass. */
  onAfterPass(fn: () => void): void {
    this.afterPass.push(fn);
  }

  /** Runs `fn` now (outside a pass), reporting what it throws; returns false if it threw. */
  guard(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.stats.uncaught++;
      this.report(e);
      return false;
    }
  }

  /** Stops the loop for good: no timer or event runs any more. */
  stop(): void {
    this.stopped = true;
    this.timers = [];
    this.events = [];
    if (this.hostTimer !== undefined) clearTimeout(this.hostTimer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.hostTimer = undefined;
    this.immediate = undefined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True when nothing is pending: no timer, no queued event. */
  get idle(): boolean {
    return this.timers.length === 0 && this.events.length === 0 && !this.running;
  }

  private nextDue(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const t of this.timers) if (t.due < next) next = t.due;
    return next;
  }

  private arm(): void {
    if (this.stopped || this.running) return;
    if (this.events.length > 0) {
      if (this.immediate === undefined) {
        this.immediate = setImmediate(() => {
          this.immediate = undefined;
          this.pass();
        });
      }
      return;
    }
    const next = this.nextDue();
    if (next === this.hostTimerAt && this.hostTimer !== undefined) return;
    if (this.hostTimer !== undefined) clearTimeout(this.hostTimer);
    this.hostTimer = undefined;
    this.hostTimerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(0, Math.ceil(next - this.now()));
    this.hostTimer = setTimeout(() => {
      this.hostTimer = undefined;
      this.hostTimerAt = Number.POSITIVE_INFINITY;
      this.pass();
    }, delay);
  }

  /** One pass of the loop (see the file comment). */
  pass(): void {
    if (this.stopped || this.running) return;
    this.running = true;
    this.stats.passes++;
    try {
      this.runTimers();
      const events = this.events;
      this.events = [];
      for (const e of events) {
        if (this.stopped) break;
        this.stats.eventsRun++;
        this.guard(e);
      }
      for (const h of this.afterPass) h();
    } finally {
      this.running = false;
    }
    this.arm();
  }

  private runTimers(): void {
    const now = this.now();
    const due = this.timers
      .filter((t) => t.due <= now + EARLY_MS)
      .sort((a, b) => a.due - b.due || a.seq - b.seq);
    for (const t of due) {
      if (this.stopped) return;
      if (!this.timers.includes(t)) continue;
      if (t.every > 0) t.due += t.every;
      else this.timers = this.timers.filter((x) => x !== t);
      this.stats.timersRun++;
      this.guard(t.run);
    }
  }
}
