/**
 * The firmware's edge to the network (habit 2): {@link DatagramTransport} over Espruino's `dgram`,
 * one socket bound to all interfaces on the server port. What Espruino does differently from Node,
 * and how this adapter copes (ESPRUINO.md, "dgram"):
 * - received datagrams are truncated to 528 bytes unless the socket is created with
 *   `recvBufferSize: N`, which raises the limit to N - 8: we ask for 1480 bytes so that a full 1472-byte datagram arrives whole;
 * - messages are binary strings: `new Uint8Array(E.toArrayBuffer(msg))` views them without a
 *   per-byte loop (one small view object per datagram, no copy of the bytes where Espruino can
 *   reference the string);
 * - `send` takes strings only. We rely on two measured facts: `E.toString(u8)` of a view that
 *   covers its whole ArrayBuffer **aliases** the memory (no copy), and the 5-argument
 *   `send(str, offset, length, port, address)` copies `length` bytes from `offset` before it
 *   returns. So a `subarray` of the engine's preallocated buffer is sent as
 *   `send(E.toString(wholeBufferView), byteOffset, length, ...)`: one copy (Espruino's own) and no
 *   per-send string allocation of our own. The whole-buffer view of the last partial view's
 *   buffer is cached (the engine's one audio buffer); arrays that cover their whole buffer (the
 *   engine's small control datagrams) are passed as they are and leave the cache alone;
 * - a zero-length datagram closes the socket ('close' fires twice): the socket is reopened once,
 *   on the next turn of the event loop, since otherwise anyone could silence the server;
 * - a failed bind throws and still calls bind's callback: we pass no callback, catch the throw and
 *   retry with a doubling backoff (250 ms to 8 s).
 */

import { MAX_DATAGRAM } from "../../shared/audio/sender.js";
import type {
  DatagramHandler,
  DatagramTransport,
  TransportErrorHandler,
  TransportOperation,
} from "../../shared/transport.js";
import type {
  DgramModule,
  DgramRemoteInfo,
  DgramSocket,
  EspruinoE,
  Log,
  TimerHandle,
  Timers,
} from "./espruino.js";

/** `recvBufferSize` in bytes: Espruino receives up to N - 8 bytes, so this admits a whole MAX_DATAGRAM (1472). */
const UDP_RECV_BUFFER_BYTES = MAX_DATAGRAM + 8;
/** First retry delay after a failed bind, in ms; doubles on each failure. */
const UDP_RETRY_MIN_MS = 250;
/** Longest retry delay after failed binds, in ms. */
const UDP_RETRY_MAX_MS = 8000;

/** Counters of one {@link EspruinoUdp}, for the status line. */
export interface UdpStats {
  /** Datagrams received. */
  received: number;
  /** Datagrams handed to Espruino for sending. */
  sent: number;
  /** Sends that threw, or found no open socket (while it is being reopened). */
  sendErrors: number;
  /** Times the socket closed under us and was reopened. */
  reopens: number;
  /** Binds that failed (each is retried). */
  bindErrors: number;
}

/** The Espruino APIs the adapter needs (injected; see board/espruino.ts). */
export interface UdpDeps {
  readonly dgram: DgramModule;
  readonly E: EspruinoE;
  readonly timers: Timers;
  readonly log: Log;
}

/**
 * One UDP socket on `port`, kept open: reopened after it closes, bind retried until it succeeds.
 * Opens at construction. Never throws for network reasons; errors go to the `onError` handler,
 * and bind failures to the log as well (they may happen before a handler is set).
 */
export class EspruinoUdp implements DatagramTransport {
  readonly localAddress = "0.0.0.0";
  readonly localPort: number;
  readonly stats: UdpStats = { received: 0, sent: 0, sendErrors: 0, reopens: 0, bindErrors: 0 };
  private readonly deps: UdpDeps;
  private sock: DgramSocket | undefined = undefined;
  private onData: DatagramHandler | null = null;
  private onErr: TransportErrorHandler | null = null;
  /** The pending (re)open, if any. */
  private timer: TimerHandle | undefined = undefined;
  /** Wait before the next bind attempt, in ms. */
  private wait = UDP_RETRY_MIN_MS;
  private closed = false;
  /** A view covering the whole ArrayBuffer of the last partial view sent (for the aliasing E.toString). */
  private whole: Uint8Array | undefined = undefined;
  /** `open` bound once, for the timers. */
  private readonly reopen: () => void;

  constructor(deps: UdpDeps, port: number) {
    this.deps = deps;
    this.localPort = port;
    this.reopen = () => this.open();
    this.open();
  }

  /** Sends `data` (typically a subarray of one preallocated buffer); dropped while no socket is open. */
  send(data: Uint8Array, address: string, port: number): void {
    const s = this.sock;
    if (s === undefined) {
      this.stats.sendErrors++;
      return;
    }
    let w = data;
    if (data.byteOffset !== 0 || data.length !== data.buffer.byteLength) {
      w =
        this.whole !== undefined && this.whole.buffer === data.buffer
          ? this.whole
          : new Uint8Array(data.buffer);
      this.whole = w;
    }
    try {
      s.send(this.deps.E.toString(w), data.byteOffset, data.length, port, address);
      this.stats.sent++;
    } catch (e) {
      this.stats.sendErrors++;
      this.fail("send", "send to " + address + ":" + port + ": " + e, address, port);
    }
  }

  onDatagram(handler: DatagramHandler | null): void {
    this.onData = handler;
  }

  onError(handler: TransportErrorHandler | null): void {
    this.onErr = handler;
  }

  /** Closes the socket for good: no reopen, no retry, no handler called afterwards. */
  close(): void {
    this.closed = true;
    this.onData = this.onErr = null;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.shut(this.sock);
  }

  /** Creates and binds a socket; on failure schedules the next attempt. */
  private open(): void {
    this.timer = undefined;
    if (this.closed) return;
    const d = this.deps;
    const s = d.dgram.createSocket({ type: "udp4", reuseAddr: true, recvBufferSize: UDP_RECV_BUFFER_BYTES });
    s.on("message", (msg: string, rinfo: DgramRemoteInfo) => {
      this.stats.received++;
      const h = this.onData;
      if (h !== null) h(new Uint8Array(d.E.toArrayBuffer(msg)), rinfo.address, rinfo.port);
    });
    s.on("close", () => this.lost(s));
    try {
      s.bind(this.localPort);
      this.sock = s;
      this.wait = UDP_RETRY_MIN_MS;
    } catch (e) {
      this.stats.bindErrors++;
      const ms = this.wait;
      this.wait = Math.min(ms * 2, UDP_RETRY_MAX_MS);
      const text = "udp: bind " + this.localPort + ": " + e + "; retry in " + ms + " ms";
      d.log(text);
      this.fail("socket", text, "", 0);
      this.shut(s);
      this.timer = d.timers.setTimeout(this.reopen, ms);
    }
  }

  /** 'close' from socket `s`: reopen once if it is the current one (a second 'close', or a failed socket, is ignored). */
  private lost(s: DgramSocket): void {
    if (s !== this.sock || this.closed) return;
    this.sock = undefined;
    this.stats.reopens++;
    this.deps.log("udp: socket closed; reopening");
    this.timer = this.deps.timers.setTimeout(this.reopen, 0);
  }

  /** Closes `s` (which may never have been bound, or may be closed already). */
  private shut(s: DgramSocket | undefined): void {
    this.sock = undefined;
    try {
      if (s !== undefined) s.close();
    } catch (_e) {
      // closed already
    }
  }

  private fail(operation: TransportOperation, message: string, address: string, port: number): void {
    const h = this.onErr;
    if (h !== null)
      h({ operation: operation, code: operation, message: message, address: address, port: port });
  }
}
