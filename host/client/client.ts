/**
 * The client engine of shared/ (ClientEngine, sans-IO) run over a real datagram transport: the
 * `node:dgram` UDP socket of host/transport/udp.ts by default, optionally wrapped in the seeded
 * impairment layer (host/transport/impair.ts), so that tests can inject loss around the client's
 * socket and compare what the client reports with what the layer did.
 *
 * What this adds to the engine: the clock (`performance.now()`), one timer armed for the earliest
 * deadline of the engine and of the registered {@link Ticker}s (audio senders, playout), sending
 * what the engine queues, and handing events to one handler, synchronously, as they come out
 * (an audio event's payload is only valid during the call). Session logic (one server, its
 * streams, files, statistics) is session.ts; listing servers is discover.ts.
 */

import { ClientEngine, type DiscoveryTarget } from "../../shared/endpoint/client.js";
import type { Timing } from "../../shared/endpoint/constants.js";
import type { ClientEvent } from "../../shared/endpoint/events.js";
import type { ReceiverFactory } from "../../shared/endpoint/receivers.js";
import type { StreamFormats } from "../../shared/format.js";
import type { Outcome } from "../../shared/message.js";
import type { DatagramTransport, TransportError } from "../../shared/transport.js";
import type { CodecName } from "../../shared/wire/codec.js";
import { type ImpairedTransport, type ImpairmentOptions, impair } from "../transport/impair.js";
import { openUdpTransport } from "../transport/udp.js";
import { hostCodecs } from "../wire/codecs.js";

/** Something with deadlines of its own, run by the client's timer (an audio sender, a playout clock). */
export interface Ticker {
  /** The earliest time (ms, the client's clock) it has work, or Infinity. */
  nextDueMs(): number;
  /** Does the work due at `nowMs`. */
  tick(nowMs: number): void;
}

/** Options of {@link Client.open}. All optional. */
export interface ClientRuntimeOptions {
  /** The codec of our Discovery (servers answer in it). Defaults to "postcard". */
  readonly codec?: CodecName;
  /** Local address to bind. Defaults to "0.0.0.0". */
  readonly bindAddress?: string;
  /** Local port to bind. Defaults to 0 (the OS chooses). */
  readonly bindPort?: number;
  /** Allow sending to broadcast addresses (discovery). Defaults to false. */
  readonly broadcast?: boolean;
  /**
   * Wraps the UDP transport in the seeded impairment layer with these settings (e.g.
   * `{ loss: 0.05, seed: 7, direction: "receive" }`); its counters are {@link Client.impairment}.
   */
  readonly impairment?: Partial<ImpairmentOptions>;
  /** A transport to use instead of opening a UDP socket (it is closed with the client). */
  readonly transport?: DatagramTransport;
  /** Where Discovery goes while discovering. */
  readonly targets?: readonly DiscoveryTarget[];
  /** The accept policy for offers (see ClientEngine); defaults to accepting every valid format. */
  readonly accept?: (formats: StreamFormats, peer: string) => Outcome;
  /** Per-stream receivers (see ClientEngine); defaults to the engine's counting index check. */
  readonly receivers?: ReceiverFactory;
  /** Engine timing overrides. */
  readonly timing?: Partial<Timing>;
}

/** Receives every engine event with the time it was produced (ms). */
export type ClientEventHandler = (event: ClientEvent, nowMs: number) => void;

/** A running client: engine, transport and timer. Create with {@link Client.open}. */
export class Client {
  /** The protocol engine (read its peers and stats; call its methods through this class's helpers or directly, then {@link flush}). */
  readonly engine: ClientEngine;
  /** The transport in use (the impairment layer when there is one). */
  readonly transport: DatagramTransport;
  /** The impairment layer, when `impairment` was given. */
  readonly impairment: ImpairedTransport | undefined;
  /** Network errors reported by the transport (sends refused, socket errors). */
  readonly transportErrors: TransportError[] = [];
  /** Called with the arrival time before each datagram goes to the engine (playout clocks). */
  beforeReceive: ((nowMs: number) => void) | undefined;

  private handler: ClientEventHandler | undefined;
  private readonly tickers: Ticker[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Engine timers are due and wait for the check phase (see onTimer). */
  private enginePending = false;

  private constructor(
    engine: ClientEngine,
    transport: DatagramTransport,
    impaired: ImpairedTransport | undefined,
  ) {
    this.engine = engine;
    this.transport = transport;
    this.impairment = impaired;
    transport.onDatagram((data, address, port) => {
      if (this.closed) return;
      const now = this.now();
      if (this.beforeReceive !== undefined) this.beforeReceive(now);
      this.engine.receive(data, address, port, now);
      this.flush(now);
    });
    transport.onError((error) => {
      if (this.transportErrors.length < 100) this.transportErrors.push(error);
    });
  }

  /** Opens the transport (UDP unless one is given) and makes the engine. Rejects when the bind fails. */
  static async open(options: ClientRuntimeOptions = {}): Promise<Client> {
    const engine = new ClientEngine({
      codecs: hostCodecs,
      codec: options.codec ?? "postcard",
      targets: options.targets ?? [],
      ...(options.accept === undefined ? {} : { accept: options.accept }),
      ...(options.receivers === undefined ? {} : { receivers: options.receivers }),
      ...(options.timing === undefined ? {} : { timing: options.timing }),
    });
    const inner =
      options.transport ??
      (await openUdpTransport({
        address: options.bindAddress ?? "0.0.0.0",
        port: options.bindPort ?? 0,
        broadcast: options.broadcast ?? false,
        // Room for a few hundred ms of audio datagrams while the event loop is busy.
        receiveBufferBytes: 1 << 20,
      }));
    const impaired = options.impairment === undefined ? undefined : impair(inner, options.impairment);
    return new Client(engine, impaired ?? inner, impaired);
  }

  /** The client's clock (ms, monotonic). */
  now(): number {
    return performance.now();
  }

  /** Sets the one event handler (replacing any previous one). */
  onEvent(handler: ClientEventHandler | undefined): void {
    this.handler = handler;
  }

  /** Adds a ticker; the timer is re-armed for its deadline. */
  addTicker(t: Ticker): void {
    this.tickers.push(t);
    this.arm();
  }

  /** Removes a ticker added with {@link addTicker}. */
  removeTicker(t: Ticker): void {
    const i = this.tickers.indexOf(t);
    if (i >= 0) this.tickers.splice(i, 1);
  }

  /** Sends one datagram now (audio written by `engine.writeAudio`). */
  send(data: Uint8Array, address: string, port: number): void {
    if (!this.closed) this.transport.send(data, address, port);
  }

  /**
   * Sends what the engine queued, hands its events to the handler, and re-arms the timer. Call
   * after any engine method that may queue something (startDiscovery, startIO, disconnect...).
   */
  flush(nowMs: number = this.now()): void {
    for (let t = this.engine.pollTransmit(); t !== undefined; t = this.engine.pollTransmit()) {
      if (!this.closed) this.transport.send(t.data, t.address, t.port);
    }
    for (let e = this.engine.pollEvent(); e !== undefined; e = this.engine.pollEvent()) {
      if (this.handler !== undefined) this.handler(e, nowMs);
    }
    this.arm();
  }

  /**
   * Shuts down: Disconnect to every connected server (sent at once), then the transport and the
   * timer are released. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    const now = this.now();
    this.engine.close(now);
    this.flush(now);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.transport.onDatagram(null);
    this.transport.close();
  }

  /** True after {@link close}. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Arms the timer for the earliest deadline, unless it is already armed for one as early. */
  private arm(): void {
    if (this.closed) return;
    // While engine timers wait for the check phase, only the tickers need the timer.
    let next = this.enginePending ? Infinity : this.engine.nextDeadline();
    for (const t of this.tickers) next = Math.min(next, t.nextDueMs());
    if (next === Infinity) return;
    if (this.timer !== undefined && this.timerAt <= next) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(next - this.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.closed) return;
    const now = this.now();
    for (const t of this.tickers.slice()) if (now >= t.nextDueMs()) t.tick(now);
    if (!this.enginePending && now >= this.engine.nextDeadline()) {
      // Node runs timers before it reads sockets: after a stall of this process (a busy host), a
      // timer would find every server silent while their datagrams wait unread. The engine's
      // timers (timeouts above all) run after this loop iteration's reads instead.
      this.enginePending = true;
      setImmediate(this.onEngineTimers);
    }
    this.flush(now);
  };

  private readonly onEngineTimers = (): void => {
    this.enginePending = false;
    if (this.closed) return;
    const now = this.now();
    if (now >= this.engine.nextDeadline()) this.engine.handleTimeout(now);
    this.flush(now);
  };
}
