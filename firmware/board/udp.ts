/**
 * The firmware's edge to the network (habit 2): one socket of Espruino's `dgram`, bound to all
 * interfaces on the server port. What Espruino does differently from Node, and how this adapter
 * copes (ESPRUINO.md, "dgram"):
 * - received datagrams are truncated to 528 bytes unless the socket is created with
 *   `recvBufferSize: N`, which raises the limit to N - 8: we ask for 1480 bytes so that a full
 *   1472-byte datagram arrives whole;
 * - messages are binary strings: `new Uint8Array(E.toArrayBuffer(msg))` views them without a
 *   per-byte loop (one small view object per datagram, no copy of the bytes where Espruino can
 *   reference the string);
 * - `send` takes strings only. We rely on two measured facts: `E.toString(u8)` of a view that
 *   covers its whole ArrayBuffer **aliases** the memory (no copy, and the string shows later
 *   writes to the array), and the 5-argument `send(str, offset, length, port, address)` copies
 *   `length` bytes before it returns. So {@link send} sends a prefix of a whole buffer from its
 *   aliasing string: no string of ours. (The string is made per send, 12 us: a cached one would
 *   alias too, but the emulator cannot model a string that changes.) Never compare typed
 *   arrays or ArrayBuffers to tell buffers apart: Espruino compares their contents as text,
 *   slowly (ESPRUINO.md);
 * - `send` has no backpressure: it appends the datagram (plus an 8-byte header) to the socket's
 *   `dSnd` string, which the idle loop drains one datagram per pass. {@link queuedBytes} reads
 *   that length, so the firmware can skip audio instead of queueing without bound (Espruino's
 *   libs/network/socketserver.c; the 'drain' event fires when it empties);
 * - a zero-length datagram closes the socket ('close' fires twice): the socket is reopened once,
 *   on the next turn of the event loop, since otherwise anyone could silence the server;
 * - a failed bind throws and still calls bind's callback: we pass no callback, catch the throw,
 *   close that socket and try again with a doubling backoff (250 ms to 8 s).
 */

import { MAX_DATAGRAM } from "../../shared/audio/sender.js";
import type { DatagramHandler } from "../../shared/transport.js";
import type { DgramModule, DgramSocket, EspruinoE, Log, Timers } from "./espruino.js";

/** First retry delay after a failed bind, in ms; doubles on each failure. */
const RETRY_MIN_MS = 250;
/** Longest retry delay after failed binds, in ms. */
const RETRY_MAX_MS = 8000;

/** Counters of one {@link EspruinoUdp}, for the status line. */
export interface UdpStats {
  /** Datagrams received. */
  received: number;
  /**
   * Datagrams handed to Espruino for sending (not counted: sends that threw, or found no open
   * socket while it is being reopened).
   */
  sent: number;
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
 * Opens at construction. Never throws for network reasons: a failed send is dropped (it shows as
 * a `sent` count that does not grow), a lost or unbindable socket is logged and reopened.
 */
export class EspruinoUdp {
  readonly stats: UdpStats = { received: 0, sent: 0 };
  private readonly deps: UdpDeps;
  private readonly port: number;
  private sock: DgramSocket | undefined;
  private handler: DatagramHandler | null | undefined;
  /** Wait before the next bind attempt, in ms. */
  private wait = RETRY_MIN_MS;
  /** Counts sockets opened: the current one's number (see its 'close' listener). */
  private generation = 0;
  /** Set by {@link close}. */
  private closed: boolean | undefined;

  constructor(deps: UdpDeps, port: number) {
    this.deps = deps;
    this.port = port;
    this.open();
  }

  /**
   * Sends the first `length` bytes of `buf`; dropped while no socket is open. Without a copy of
   * ours when `buf` covers its whole ArrayBuffer (E.toString aliases it: the firmware's transmit
   * buffer, a control datagram, a received datagram turned around in place); a subarray is
   * copied into a string first.
   */
  send(buf: Uint8Array, length: number, address: string, port: number): void {
    try {
      (this.sock as DgramSocket).send(this.deps.E.toString(buf), 0, length, port, address);
      this.stats.sent++;
    } catch (_e) {
      // dropped: no socket (being reopened), or Espruino refused it ("Not enough stack memory")
    }
  }

  /** Bytes waiting in the socket's send queue (each datagram plus 8 bytes); 0 when none or no socket. */
  queuedBytes(): number {
    const s = this.sock;
    const q = s === undefined ? undefined : s.dSnd;
    return q === undefined ? 0 : q.length;
  }

  /** Sets the one receiver of datagrams (a view valid during the call), or none. */
  onDatagram(handler: DatagramHandler | null): void {
    this.handler = handler;
  }

  /** Closes the socket for good: no reopen, no retry (a pending one does nothing), so no datagram afterwards. */
  close(): void {
    this.closed = true;
    this.shut();
  }

  /** Creates and binds a socket; on failure closes it and tries again later. */
  private open(): void {
    if (this.closed) return;
    const d = this.deps;
    const s = d.dgram.createSocket({ type: "udp4", reuseAddr: true, recvBufferSize: MAX_DATAGRAM + 8 });
    this.sock = s;
    s.on("message", (msg, rinfo) => {
      this.stats.received++;
      if (this.handler) this.handler(new Uint8Array(d.E.toArrayBuffer(msg)), rinfo.address, rinfo.port);
    });
    // Only the current socket's first 'close' counts (a zero-length datagram fires two). Sockets
    // are told apart by a number: object comparisons are content comparisons on Espruino.
    const gen = ++this.generation;
    s.on("close", () => {
      if (gen === this.generation) this.reopen("closed", 0);
    });
    try {
      s.bind(this.port);
      this.wait = RETRY_MIN_MS;
    } catch (e) {
      const ms = this.wait;
      this.wait = Math.min(ms * 2, RETRY_MAX_MS);
      this.reopen("bind " + this.port + ": " + e, ms);
    }
  }

  /** Drops the current socket and opens a new one in `ms`. */
  private reopen(why: string, ms: number): void {
    this.shut();
    this.deps.log("udp: " + why + "; reopen in " + ms + " ms");
    this.deps.timers.setTimeout(() => this.open(), ms);
  }

  /** Closes the current socket, which may never have been bound or may be closed already. */
  private shut(): void {
    const s = this.sock;
    this.sock = undefined;
    this.generation++;
    try {
      (s as DgramSocket).close();
    } catch (_e) {
      // none, or closed already
    }
  }
}
