/**
 * An in-memory datagram network on a virtual clock, for tests (habit 7: time is injected).
 * Transports bound on it send to each other by address and port; nothing arrives until the test
 * moves the clock (`advanceTo`, `advanceBy`, `runUntilIdle`), so a handler that answers at once
 * never re-enters the sender, and every timeout and retransmission happens at an exact virtual
 * millisecond. The network itself is perfect (no loss, fixed latency): wrap transports with
 * `impair.ts` for faults, passing `network.schedule` so delays run on the same clock.
 */

import type { DatagramTransport, TransportError } from "../../shared/transport.js";
import { TransportBase } from "./base.js";

/** Options of {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Virtual time (ms) between a send and its arrival. Defaults to 0 (arrives on the next run). */
  latencyMs: number;
  /**
   * Datagrams sent here reach every transport bound on the destination port, whatever its
   * address, the sender included. (Linux delivers a broadcast only to sockets bound to 0.0.0.0 or
   * to the broadcast address; here every test server is bound to its own 127.0.0.x, so they all
   * take part.) Defaults to "127.255.255.255".
   */
  broadcastAddress: string;
  /** Larger datagrams are refused with "EMSGSIZE", as by UDP over IPv4. Defaults to 65507 bytes. */
  maxDatagramBytes: number;
  /**
   * `advanceTo` and `runUntilIdle` throw after running this many events in one call, which turns a
   * timer that re-arms itself at zero delay into an error rather than a hung test. Defaults to
   * 10,000,000.
   */
  maxEventsPerRun: number;
}

/** Counts kept by a {@link MemoryNetwork}. */
export interface MemoryNetworkStats {
  /** Datagrams accepted by `send` (a broadcast counts once). */
  sent: number;
  /** Datagrams handed to a receiving transport (a broadcast counts once per receiver). */
  delivered: number;
  /** Datagrams that arrived where no open transport was bound (dropped, as UDP does). */
  unroutable: number;
}

const DEFAULTS: MemoryNetworkOptions = {
  latencyMs: 0,
  broadcastAddress: "127.255.255.255",
  maxDatagramBytes: 65507,
  maxEventsPerRun: 10_000_000,
};

/** First port handed out for port 0 (the IANA dynamic range). */
const FIRST_EPHEMERAL_PORT = 49152;

function checkPort(name: string, port: number, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new RangeError(
      `"${name}" must be an integer from ${allowZero ? 0 : 1} to 65535, got ${String(port)}`,
    );
  }
}

function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0)) throw new RangeError(`"${name}" must be a number >= 0, got ${String(value)}`);
}

/**
 * A binary min-heap of events ordered by due time, then by insertion order (so events due at the
 * same millisecond run first in, first out).
 */
class EventQueue {
  private readonly due: number[] = [];
  private readonly seq: number[] = [];
  private readonly fns: Array<() => void> = [];
  private nextSeq = 0;

  get size(): number {
    return this.fns.length;
  }

  /** Due time (ms) of the earliest event; Infinity when empty. */
  peekDue(): number {
    return this.fns.length === 0 ? Number.POSITIVE_INFINITY : this.due[0]!;
  }

  push(dueMs: number, fn: () => void): void {
    let i = this.fns.length;
    const seq = this.nextSeq++;
    this.due.push(dueMs);
    this.seq.push(seq);
    this.fns.push(fn);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(dueMs, seq, this.due[parent]!, this.seq[parent]!)) break;
      this.move(parent, i);
      i = parent;
    }
    this.due[i] = dueMs;
    this.seq[i] = seq;
    this.fns[i] = fn;
  }

  /** Removes the earliest event and returns its function (the queue must not be empty). */
  pop(): () => void {
    const top = this.fns[0]!;
    const lastDue = this.due.pop()!;
    const lastSeq = this.seq.pop()!;
    const lastFn = this.fns.pop()!;
    const n = this.fns.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        let child = left;
        if (right < n && this.before(this.due[right]!, this.seq[right]!, this.due[left]!, this.seq[left]!)) {
          child = right;
        }
        if (!this.before(this.due[child]!, this.seq[child]!, lastDue, lastSeq)) break;
        this.move(child, i);
        i = child;
      }
      this.due[i] = lastDue;
      this.seq[i] = lastSeq;
      this.fns[i] = lastFn;
    }
    return top;
  }

  private before(dueA: number, seqA: number, dueB: number, seqB: number): boolean {
    return dueA < dueB || (dueA === dueB && seqA < seqB);
  }

  private move(from: number, to: number): void {
    this.due[to] = this.due[from]!;
    this.seq[to] = this.seq[from]!;
    this.fns[to] = this.fns[from]!;
  }
}

/**
 * The network: a virtual clock starting at 0 ms, the transports bound on it, and the queue of
 * pending events (datagrams in flight and callbacks given to {@link MemoryNetwork.schedule}).
 */
export class MemoryNetwork {
  /** Counts since the network was made. */
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, unroutable: 0 };

  private readonly options: MemoryNetworkOptions;
  private readonly queue = new EventQueue();
  private readonly bound = new Map<string, MemoryTransport>();
  private now = 0;
  private nextEphemeral = FIRST_EPHEMERAL_PORT;

  constructor(options?: Partial<Readonly<MemoryNetworkOptions>>) {
    const o: MemoryNetworkOptions = {
      latencyMs: options?.latencyMs ?? DEFAULTS.latencyMs,
      broadcastAddress: options?.broadcastAddress ?? DEFAULTS.broadcastAddress,
      maxDatagramBytes: options?.maxDatagramBytes ?? DEFAULTS.maxDatagramBytes,
      maxEventsPerRun: options?.maxEventsPerRun ?? DEFAULTS.maxEventsPerRun,
    };
    checkNonNegative("latencyMs", o.latencyMs);
    checkNonNegative("maxDatagramBytes", o.maxDatagramBytes);
    if (!(o.maxEventsPerRun >= 1)) throw new RangeError(`"maxEventsPerRun" must be >= 1`);
    this.options = o;
  }

  /** The virtual time, in ms since the network was made. */
  get nowMs(): number {
    return this.now;
  }

  /** Events (datagrams in flight and scheduled callbacks) not yet run. */
  get pending(): number {
    return this.queue.size;
  }

  /**
   * Runs `fn` once, `delayMs` virtual ms from now (at the current time when `delayMs` <= 0).
   * A plain function (bound to this network), so it can be handed over as a scheduler: the
   * impairment layer's `schedule` option, or an engine test's timers.
   */
  readonly schedule = (fn: () => void, delayMs: number): void => {
    if (Number.isNaN(delayMs)) throw new RangeError(`"delayMs" must be a number, got NaN`);
    this.queue.push(this.now + Math.max(0, delayMs), fn);
  };

  /**
   * Binds a transport to `address`:`port`; port 0 takes a free port from 49152 up. Throws when
   * that address and port are taken (binding is setup, not network traffic).
   */
  createTransport(address: string, port: number): MemoryTransport {
    if (typeof address !== "string" || address === "") {
      throw new TypeError(`"address" must be a non-empty string`);
    }
    checkPort("port", port, true);
    let p = port;
    if (p === 0) p = this.freePort(address);
    const key = address + ":" + p;
    if (this.bound.has(key)) throw new Error(`EADDRINUSE: ${key} is already bound on this network`);
    const transport = new MemoryTransport(this, address, p);
    this.bound.set(key, transport);
    return transport;
  }

  /** Runs, in time order, every event due at or before `timeMs`, then sets the clock to `timeMs`. */
  advanceTo(timeMs: number): number {
    if (!(timeMs >= this.now)) {
      throw new RangeError(`"timeMs" must be >= the current time ${this.now}, got ${String(timeMs)}`);
    }
    const ran = this.runWhile(timeMs);
    this.now = timeMs;
    return ran;
  }

  /** `advanceTo(nowMs + durationMs)`. Returns the number of events run. */
  advanceBy(durationMs: number): number {
    checkNonNegative("durationMs", durationMs);
    return this.advanceTo(this.now + durationMs);
  }

  /**
   * Runs events in time order until none is left, moving the clock to each one's due time.
   * Returns the number of events run.
   */
  runUntilIdle(): number {
    return this.runWhile(Number.POSITIVE_INFINITY);
  }

  private runWhile(limitMs: number): number {
    let ran = 0;
    while (this.queue.size > 0 && this.queue.peekDue() <= limitMs) {
      if (ran >= this.options.maxEventsPerRun) {
        throw new Error(
          `memory network: still busy after ${ran} events at ${this.now} ms (a callback that keeps re-scheduling itself?)`,
        );
      }
      this.now = this.queue.peekDue();
      const fn = this.queue.pop();
      ran++;
      fn();
    }
    return ran;
  }

  private freePort(address: string): number {
    for (let tries = 0; tries <= 65535 - FIRST_EPHEMERAL_PORT; tries++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === 65535 ? FIRST_EPHEMERAL_PORT : p + 1;
      if (!this.bound.has(address + ":" + p)) return p;
    }
    throw new Error(`EADDRINUSE: no free port left on ${address}`);
  }

  /** @internal Called by {@link MemoryTransport.send}. */
  transmit(from: MemoryTransport, data: Uint8Array, address: string, port: number): void {
    if (data.length > this.options.maxDatagramBytes) {
      from.report(
        "send",
        "EMSGSIZE",
        `datagram of ${data.length} bytes exceeds ${this.options.maxDatagramBytes}`,
        address,
        port,
      );
      return;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      from.report("send", "ERR_SOCKET_BAD_PORT", `bad destination port ${String(port)}`, address, port);
      return;
    }
    const copy = data.slice();
    const srcAddress = from.localAddress;
    const srcPort = from.localPort;
    this.stats.sent++;
    this.queue.push(this.now + this.options.latencyMs, () => {
      this.arrive(copy, srcAddress, srcPort, address, port);
    });
  }

  /** @internal Called by {@link MemoryTransport.close}. */
  unbind(transport: MemoryTransport): void {
    const key = transport.localAddress + ":" + transport.localPort;
    if (this.bound.get(key) === transport) this.bound.delete(key);
  }

  private arrive(data: Uint8Array, srcAddress: string, srcPort: number, address: string, port: number): void {
    if (address === this.options.broadcastAddress) {
      // Collect the receivers and their copies first: a handler may bind, close or scribble.
      const targets: MemoryTransport[] = [];
      for (const t of this.bound.values()) if (t.localPort === port) targets.push(t);
      const copies = targets.map((_, i) => (i === targets.length - 1 ? data : data.slice()));
      let receivers = 0;
      for (let i = 0; i < targets.length; i++) {
        if (targets[i]!.deliver(copies[i]!, srcAddress, srcPort)) {
          receivers++;
          this.stats.delivered++;
        }
      }
      if (receivers === 0) this.stats.unroutable++;
      return;
    }
    const target = this.bound.get(address + ":" + port);
    if (target?.deliver(data, srcAddress, srcPort)) this.stats.delivered++;
    else this.stats.unroutable++;
  }
}

/**
 * A transport bound on a {@link MemoryNetwork}. `send` copies the bytes (like a real network);
 * each receiver gets its own copy.
 */
export class MemoryTransport extends TransportBase implements DatagramTransport {
  /** @internal Use {@link MemoryNetwork.createTransport}. */
  constructor(
    private readonly network: MemoryNetwork,
    readonly localAddress: string,
    readonly localPort: number,
  ) {
    super();
  }

  /** Whether `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  send(data: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    this.network.transmit(this, data, address, port);
  }

  close(): void {
    if (!this.markClosed()) return;
    this.network.unbind(this);
  }

  /** @internal Hands a datagram to the handler; false when the transport is closed. */
  deliver(data: Uint8Array, address: string, port: number): boolean {
    if (this.closed) return false;
    const handler = this.handler;
    if (handler !== null) handler(data, address, port);
    return true;
  }

  /** @internal Reports an error to the error handler, if any. */
  report(
    operation: TransportError["operation"],
    code: string,
    message: string,
    address: string,
    port: number,
  ): void {
    const handler = this.errorHandler;
    if (handler === null || this.closed) return;
    handler({ operation, code, message: `${message} (to ${address}:${port})`, address, port });
  }
}
