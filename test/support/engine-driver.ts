/**
 * A small test driver: the project's sans-IO {@link ClientEngine} over a real `node:dgram`
 * socket ({@link openUdpTransport}) with real timers, for tests against emulated boards. Every
 * received datagram and every due deadline is fed to the engine, then its transmits are sent and
 * its events drained: audio events go to `onAudio` at once (their payload is a view valid only
 * during the call), every other event is logged with its time.
 *
 * Deliberately minimal: the full host client lives in host/client/.
 */
import { performance } from "node:perf_hooks";
import { openUdpTransport, type UdpTransport } from "../../host/transport/udp.js";
import { ClientEngine, type ClientOptions } from "../../shared/endpoint/client.js";
import type { AudioEvent, ClientEvent } from "../../shared/endpoint/events.js";
import type { U64 } from "../../shared/u64.js";

/** A non-audio event with the driver's clock (ms) when it came out. */
export interface LoggedClientEvent {
  readonly t: number;
  readonly event: Exclude<ClientEvent, AudioEvent>;
}

/** Where the client's socket binds. */
export interface DriverSocket {
  readonly address: string;
  readonly port: number;
}

/** A client engine running on a UDP socket with real timers. */
export class EngineDriver {
  readonly log: LoggedClientEvent[] = [];
  /** Receives every audio event (payload valid during the call only). */
  onAudio: ((e: AudioEvent) => void) | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for (Infinity: none). */
  private armedAt = Infinity;
  private closed = false;
  private readonly tx = new Uint8Array(1472);
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly engine: ClientEngine,
    readonly transport: UdpTransport,
  ) {
    transport.onDatagram((data, address, port) => {
      engine.receive(data, address, port, this.now());
      this.service();
    });
    this.service();
  }

  /** The engine's clock: ms on a monotonic clock. */
  now(): number {
    return performance.now();
  }

  /** Runs `fn` on the engine at the current time, then sends and drains what it produced. */
  act<T>(fn: (engine: ClientEngine, nowMs: number) => T): T {
    const r = fn(this.engine, this.now());
    this.service();
    return r;
  }

  /**
   * Writes one audio datagram to connected server `peer` on its output stream `streamIdx` and
   * sends it. False when the engine wrote nothing (not streaming, unknown peer or stream).
   */
  sendAudio(peer: string, streamIdx: number, byteIdx: U64, payload: Uint8Array): boolean {
    const info = this.engine.peer(peer);
    if (info === undefined) return false;
    const n = this.engine.writeAudio(peer, streamIdx, byteIdx, payload, this.tx, 0);
    if (n === 0) return false;
    this.transport.send(this.tx.subarray(0, n), info.address, info.port);
    return true;
  }

  /** Resolves with the first logged event from index `from` on that satisfies `pred`; rejects after `maxMs`. */
  waitFor(
    pred: (e: LoggedClientEvent["event"]) => boolean,
    maxMs: number,
    from = 0,
  ): Promise<LoggedClientEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = from; i < this.log.length; i++) {
          const l = this.log[i] as LoggedClientEvent;
          if (pred(l.event)) {
            resolve(l);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        const seen = this.log.slice(from).map((l) => `${l.event.type} ${l.event.peer}`);
        reject(new Error(`no matching event within ${maxMs} ms; seen: ${seen.join(", ") || "none"}`));
      }, maxMs);
      const waiter = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
        }
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves once `cond()` holds (checked after every event and every 10 ms); rejects after `maxMs`. */
  async until(cond: () => boolean, maxMs: number, what = "condition"): Promise<void> {
    const end = this.now() + maxMs;
    while (!cond()) {
      if (this.now() > end) throw new Error(`${what} not met within ${maxMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Closes the engine (Disconnect to every server, sent), then the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.act((e, now) => e.close(now));
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.transport.close();
  }

  /** Sends the engine's transmits, drains its events, re-arms the timer at its next deadline. */
  private service(): void {
    if (this.closed) return;
    const e = this.engine;
    for (let t = e.pollTransmit(); t !== undefined; t = e.pollTransmit()) {
      this.transport.send(t.data, t.address, t.port);
    }
    let logged = false;
    for (let ev = e.pollEvent(); ev !== undefined; ev = e.pollEvent()) {
      if (ev.type === "audio") {
        if (this.onAudio !== null) this.onAudio(ev);
      } else {
        this.log.push({ t: this.now(), event: ev });
        logged = true;
      }
    }
    if (logged) for (const w of [...this.waiters]) w();
    const next = e.nextDeadline();
    if (next === this.armedAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = next;
    if (next === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.armedAt = Infinity;
        if (this.closed) return;
        const now = this.now();
        if (now >= e.nextDeadline()) e.handleTimeout(now);
        this.service();
      },
      Math.max(0, Math.ceil(next - this.now())),
    );
  }
}

/** Opens a UDP socket (broadcast allowed) and starts a client engine on it. */
export async function startDriver(socket: DriverSocket, options: ClientOptions): Promise<EngineDriver> {
  const transport = await openUdpTransport({ address: socket.address, port: socket.port, broadcast: true });
  return new EngineDriver(new ClientEngine(options), transport);
}
