/**
 * `require("dgram")` for an emulated board, following ESPRUINO.md (measured on Espruino 2v29):
 * - `createSocket("udp4" | {type, reuseAddr, recvBufferSize}[, cb])`: `cb(socket)` is called once
 *   (queued), it is not a message listener;
 * - `bind(port[, cb])` binds the board's own address (its "all interfaces", see lan.ts) plus, for
 *   broadcasts, 127.255.255.255:port; `cb(socket)` is queued even when the bind fails, and a
 *   failed bind (the address and port taken by another emulated socket, without reuseAddr on
 *   both) throws at once "Unable to create socket". A conflict with another PROCESS only shows
 *   asynchronously: it is logged and the socket stays deaf;
 * - 'message' `(msg, rinfo)`: msg is a binary string, rinfo `{address, port, size}` (size: the
 *   length delivered); datagrams are truncated to 528 bytes unless some socket of the board was
 *   created with `recvBufferSize: N` larger than 536 (then N - 8, for every socket);
 * - a zero-length datagram closes the socket: 'close' fires twice;
 * - `send(str, port, addr)` / `send(str, offset, length, port, addr)`: strings only, anything
 *   else is sent as its text (a Uint8Array [0,128,255] as "0,128,255"), as Espruino does; the
 *   bytes are copied at the call; a trailing callback is accepted and never called; over
 *   `profile.maxSendBytes` throws "Not enough stack memory"; broadcast works, and every datagram
 *   leaves from the board's unicast socket, so a client sees one address per board;
 * - the ESP32 receive queue: at most `profile.datagramQueue` (6) datagrams per socket wait for
 *   the next interpreter pass; more are dropped and counted;
 * - while the board is offline (Wi-Fi down) nothing is sent or received (dropped and counted).
 */

import nodeDgram from "node:dgram";
import dns from "node:dns";
import { isIPv4 } from "node:net";
import { binaryString, type Realm, stringBytes } from "./context.js";
import { BROADCAST, claimPort, releasePort, routeDestination } from "./lan.js";
import type { EventLoop } from "./loop.js";
import type { Profile } from "./profile.js";

/** Datagram counters of a board (kept across resets). */
export interface DatagramStats {
  /** Delivered to the program ('message' events). */
  received: number;
  /** Handed to the network by send(). */
  sent: number;
  /** Dropped because the socket's receive queue was full (ESP32: 6). */
  droppedQueueFull: number;
  /** Dropped because the board was offline (Wi-Fi down), in either direction. */
  droppedOffline: number;
  /** Sends to an address outside 127.0.0.0/8, dropped. */
  blocked: number;
  /** Received datagrams cut to the receive limit. */
  truncated: number;
}

export function newDatagramStats(): DatagramStats {
  return { received: 0, sent: 0, droppedQueueFull: 0, droppedOffline: 0, blocked: 0, truncated: 0 };
}

/** What the dgram module needs from its board. */
export interface DgramHost {
  readonly profile: Profile;
  /** The board's unicast address (127.0.0.x). */
  readonly address: string;
  readonly stats: DatagramStats;
  /** True while the board can send and receive. */
  online(): boolean;
  note(text: string): void;
}

/**
 * The Node sockets' address lookup: every destination is an IPv4 literal (routeDestination), so
 * it answers at once and Node sends during the program's send() call, as Espruino does, instead
 * of after a dns.lookup turn (the bytes are already a copy, see send()).
 */
function literalLookup(
  hostname: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else dns.lookup(hostname, 4, callback);
}

/** Receive limit without recvBufferSize, in bytes. */
export const DEFAULT_RECV_LIMIT = 528;
/** Espruino's default receive buffer (the limit is this minus 8). */
const DEFAULT_RECV_BUFFER = 536;

/** The open sockets of one interpreter, and the module object its program requires. */
export class DgramModule {
  readonly sockets = new Set<EmulatedSocket>();
  /** recvBufferSize in effect (the largest asked for), in bytes; the limit is this minus 8. */
  recvBuffer = DEFAULT_RECV_BUFFER;
  readonly object: object;
  private warnedText = false;

  constructor(
    readonly realm: Realm,
    readonly loop: EventLoop,
    readonly host: DgramHost,
  ) {
    this.object = realm.markNative(
      realm.methods({
        createSocket: (type, cb) => this.createSocket(type, cb),
      }),
    );
    loop.onAfterPass(() => {
      for (const s of this.sockets) s.pending = 0;
    });
  }

  get recvLimit(): number {
    return this.recvBuffer - 8;
  }

  private createSocket(type: unknown, cb: unknown): object {
    let reuse = false;
    if (typeof type === "object" && type !== null) {
      const o = type as { type?: unknown; reuseAddr?: unknown; recvBufferSize?: unknown };
      if (o.type !== undefined && o.type !== "udp4")
        throw this.realm.error(`Unsupported socket type ${String(o.type)}`);
      reuse = Boolean(o.reuseAddr);
      if (typeof o.recvBufferSize === "number" && o.recvBufferSize > this.recvBuffer) {
        this.recvBuffer = Math.floor(o.recvBufferSize);
      }
    } else if (type !== undefined && type !== "udp4") {
      throw this.realm.error(`Unsupported socket type ${String(type)}`);
    }
    if (cb !== undefined && typeof cb !== "function") {
      throw this.realm.error(`Expecting Callback Function but got ${typeof cb}`);
    }
    const s = new EmulatedSocket(this, reuse);
    this.sockets.add(s);
    if (typeof cb === "function") this.loop.post(() => (cb as (s: object) => void).call(undefined, s.object));
    return s.object;
  }

  /** Warns once that a non-string was sent as its text. */
  warnText(): void {
    if (this.warnedText) return;
    this.warnedText = true;
    this.host.note("dgram: send() was given a non-string: sent as its text, as Espruino does");
  }

  /** Closes every socket without events (reset, power-off). */
  closeAll(): void {
    for (const s of [...this.sockets]) s.shut();
    this.sockets.clear();
  }

  /** Resolves once every datagram handed to Node has left (or after `maxMs`). */
  async drain(maxMs: number): Promise<void> {
    const end = Date.now() + maxMs;
    while (Date.now() < end && [...this.sockets].some((s) => s.inflight > 0)) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Open sockets (for process.memory(): about 8 blocks each). */
  get count(): number {
    return this.sockets.size;
  }
}

/** One socket: its JavaScript object and the Node sockets behind it. */
class EmulatedSocket {
  readonly object: Record<string, unknown>;
  /** Datagrams queued for the next pass. */
  pending = 0;
  /** Datagrams handed to Node and not yet sent. */
  inflight = 0;
  private unicast: nodeDgram.Socket | undefined;
  private broadcast: nodeDgram.Socket | undefined;
  private port = -1;
  private closed = false;

  constructor(
    private readonly mod: DgramModule,
    private readonly reuse: boolean,
  ) {
    const realm = mod.realm;
    this.object = realm.markNative(
      realm.methods({
        bind: (port, cb) => this.bind(port, cb),
        send: (...args) => this.send(args),
        close: () => this.close(),
        addMembership: () => {
          mod.host.note("dgram: addMembership is ignored by the emulator");
        },
      }),
    );
  }

  private get host(): DgramHost {
    return this.mod.host;
  }

  private bind(portArg: unknown, cb: unknown): object {
    const realm = this.mod.realm;
    if (typeof cb === "function") {
      this.mod.loop.post(() => (cb as (s: object) => void).call(this.object, this.object));
    }
    const port = Number(portArg);
    if (this.closed || this.port >= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw realm.internalError("Unable to create socket");
    }
    if (!claimPort(this.host.address, port, this.reuse)) throw realm.internalError("Unable to create socket");
    this.port = port;
    this.unicast = this.open(this.host.address, port, this.reuse, false);
    if (port !== 0) this.broadcast = this.open(BROADCAST, port, true, true);
    return this.object;
  }

  private open(address: string, port: number, reuse: boolean, isBroadcast: boolean): nodeDgram.Socket {
    const s = nodeDgram.createSocket({ type: "udp4", reuseAddr: reuse, lookup: literalLookup });
    s.on("error", (e) => {
      this.host.note(`dgram: socket ${address}:${port}: ${e.message}`);
    });
    s.on("message", (msg, rinfo) => this.arrive(msg, rinfo, isBroadcast));
    s.bind({ address, port, exclusive: false }, () => {
      if (!isBroadcast) s.setBroadcast(true);
    });
    return s;
  }

  private arrive(msg: Buffer, rinfo: nodeDgram.RemoteInfo, viaBroadcast: boolean): void {
    if (this.closed) return;
    // A board does not hear its own broadcasts.
    if (viaBroadcast && rinfo.address === this.host.address) return;
    const stats = this.host.stats;
    if (!this.host.online()) {
      stats.droppedOffline++;
      return;
    }
    const limit = this.host.profile.datagramQueue;
    if (limit > 0 && this.pending >= limit) {
      stats.droppedQueueFull++;
      return;
    }
    this.pending++;
    const data = new Uint8Array(msg);
    this.mod.loop.post(() => this.deliver(data, rinfo.address, rinfo.port));
  }

  private deliver(data: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    const realm = this.mod.realm;
    if (data.length === 0) {
      this.shut();
      realm.emit(this.object, "close", []);
      realm.emit(this.object, "close", []);
      return;
    }
    const limit = this.mod.recvLimit;
    if (data.length > limit) this.host.stats.truncated++;
    const text = binaryString(data.length > limit ? data.subarray(0, limit) : data);
    this.host.stats.received++;
    realm.emit(this.object, "message", [text, realm.object({ address, port, size: text.length })]);
  }

  private send(args: unknown[]): void {
    const realm = this.mod.realm;
    let data = args[0];
    if (typeof data !== "string") {
      this.mod.warnText();
      data = String(data);
    }
    let text = data as string;
    let port: unknown;
    let address: unknown;
    if (
      args.length >= 4 &&
      (typeof args[3] === "number" || (typeof args[3] === "string" && /^\d+$/.test(args[3])))
    ) {
      text = text.substr(Number(args[1]), Number(args[2]));
      port = args[3];
      address = args[4];
    } else {
      port = args[1];
      address = args[2];
    }
    const bytes = stringBytes(text);
    if (bytes.length > this.host.profile.maxSendBytes) throw realm.error("Not enough stack memory");
    const p = Number(port);
    if (this.closed || !Number.isInteger(p) || p <= 0 || p > 65535) return;
    const dest = routeDestination(String(address));
    const stats = this.host.stats;
    if (dest === undefined) {
      stats.blocked++;
      this.host.note(`dgram: send to ${String(address)} dropped: the emulator only sends inside 127.0.0.0/8`);
      return;
    }
    if (!this.host.online()) {
      stats.droppedOffline++;
      return;
    }
    if (this.unicast === undefined) {
      this.port = 0;
      this.unicast = this.open(this.host.address, 0, false, false);
    }
    stats.sent++;
    this.inflight++;
    this.unicast.send(bytes, p, dest, () => {
      this.inflight--;
    });
  }

  private close(): void {
    if (this.closed) return;
    this.shut();
    this.mod.loop.post(() => this.mod.realm.emit(this.object, "close", []));
  }

  /** Closes the Node sockets, without events. */
  shut(): void {
    if (this.closed) return;
    this.closed = true;
    this.mod.sockets.delete(this);
    if (this.port >= 0) releasePort(this.host.address, this.port);
    for (const s of [this.unicast, this.broadcast]) {
      if (s === undefined) continue;
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.unicast = undefined;
    this.broadcast = undefined;
  }
}
