/**
 * The host's edge (habit 2): {@link DatagramTransport} over one `node:dgram` UDP/IPv4 socket.
 *
 * Two details of Node make the contract ("bytes are read before `send` returns") need care:
 * - `socket.send` resolves the destination through the socket's `lookup` function before it
 *   touches the bytes, and the default (`dns.lookup`) answers on the next tick even for an IP
 *   literal, so a caller that reused its buffer at once would send the new contents. This socket
 *   gets a lookup that answers IPv4 literals synchronously, and Node then sends at once
 *   (`uv_udp_try_send`), straight from the caller's bytes: no copy. Host names still resolve
 *   through DNS, later, so for them the bytes are copied first.
 * - Node queues a datagram, holding its bytes, when the kernel's send buffer is full. While it
 *   holds any (`getSendQueueCount() > 0`) the transport copies before sending. The one datagram
 *   that first meets the full buffer cannot be known in advance and is queued holding the
 *   caller's bytes; so sends are copied by default (`copySends`; turn it off only where one
 *   copy per datagram matters more than that datagram).
 *
 * Without a callback Node drops send errors silently, so every send passes one shared callback
 * that forwards failures to the error handler. Nothing here throws after the socket is open.
 */

import dgram from "node:dgram";
import dns from "node:dns";
import { isIPv4 } from "node:net";
import type { DatagramTransport, TransportError, TransportOperation } from "../../shared/transport.js";
import { TransportBase } from "./base.js";

/** Options of {@link openUdpTransport}. */
export interface UdpTransportOptions {
  /** Local address to bind. Defaults to "0.0.0.0" (all interfaces, as a server listens). */
  address: string;
  /** Local port to bind; 0 lets the OS choose (see `localPort`). Defaults to 0. */
  port: number;
  /** Allows sending to broadcast addresses (discovery); without it such sends fail with EACCES. Defaults to false. */
  broadcast: boolean;
  /** SO_REUSEADDR: lets several sockets bind the same port (several broadcast receivers on one host). Defaults to false. */
  reuseAddr: boolean;
  /** Kernel receive buffer (bytes); 0 keeps the OS default. Larger absorbs longer audio bursts. Defaults to 0. */
  receiveBufferBytes: number;
  /** Kernel send buffer (bytes); 0 keeps the OS default. Defaults to 0. */
  sendBufferBytes: number;
  /**
   * Copy every datagram before handing it to Node, so that not even a datagram queued behind a
   * full kernel send buffer holds the caller's bytes. Costs one allocation and copy per send
   * (a few hundred nanoseconds for 1,472 bytes), which buys correctness for every caller that
   * reuses one buffer, as the audio senders do; `false` is for benchmarks of the bare path.
   * Defaults to true.
   */
  copySends: boolean;
}

/** Answers IPv4 literals synchronously (see the file comment); anything else goes to DNS. */
function syncLookup(
  hostname: string,
  options: dns.LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else dns.lookup(hostname, options, callback);
}

function errorCode(err: unknown): string {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string")
    return err.code;
  return "EUNKNOWN";
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`"port" must be an integer from 0 to 65535, got ${String(port)}`);
  }
}

function checkBufferBytes(name: string, bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 0) {
    throw new RangeError(`"${name}" must be an integer >= 0, got ${String(bytes)}`);
  }
}

/**
 * Opens and binds a UDP/IPv4 socket. Rejects (never throws) when an option is bad (naming it) or
 * the bind fails (the error's `code` is Node's, e.g. "EADDRINUSE").
 */
export async function openUdpTransport(
  options?: Partial<Readonly<UdpTransportOptions>>,
): Promise<UdpTransport> {
  const address = options?.address ?? "0.0.0.0";
  const port = options?.port ?? 0;
  const broadcast = options?.broadcast ?? false;
  const reuseAddr = options?.reuseAddr ?? false;
  const receiveBufferBytes = options?.receiveBufferBytes ?? 0;
  const sendBufferBytes = options?.sendBufferBytes ?? 0;
  const copySends = options?.copySends ?? true;
  if (!isIPv4(address))
    throw new TypeError(`"address" must be an IPv4 address, got ${JSON.stringify(address)}`);
  checkPort(port);
  checkBufferBytes("receiveBufferBytes", receiveBufferBytes);
  checkBufferBytes("sendBufferBytes", sendBufferBytes);

  const socketOptions: dgram.SocketOptions = { type: "udp4", reuseAddr, lookup: syncLookup };
  if (receiveBufferBytes > 0) socketOptions.recvBufferSize = receiveBufferBytes;
  if (sendBufferBytes > 0) socketOptions.sendBufferSize = sendBufferBytes;
  const socket = dgram.createSocket(socketOptions);

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.off("listening", onListening);
      try {
        socket.close();
      } catch {
        // Already closed by the failed bind: nothing to release.
      }
      reject(err);
    };
    const onListening = (): void => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    socket.bind(port, address);
  });

  try {
    if (broadcast) socket.setBroadcast(true);
  } catch (err) {
    socket.close();
    throw err;
  }
  return new UdpTransport(socket, copySends);
}

/** A bound `node:dgram` socket behind the {@link DatagramTransport} contract. */
export class UdpTransport extends TransportBase implements DatagramTransport {
  readonly localAddress: string;
  readonly localPort: number;

  /** The last destination found to be an IPv4 literal (saves re-checking the same peer). */
  private lastLiteral = "";
  private readonly copySends: boolean;

  /** @internal Use {@link openUdpTransport}. */
  constructor(
    private readonly socket: dgram.Socket,
    copySends: boolean,
  ) {
    super();
    const bound = socket.address();
    this.localAddress = bound.address;
    this.localPort = bound.port;
    this.copySends = copySends;
    socket.on("message", this.onMessage);
    socket.on("error", this.onSocketError);
  }

  /** Whether `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  send(data: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    let bytes = data;
    if (this.copySends || this.socket.getSendQueueCount() > 0) {
      bytes = data.slice();
    } else if (address !== this.lastLiteral) {
      if (isIPv4(address)) this.lastLiteral = address;
      else bytes = data.slice();
    }
    try {
      this.socket.send(bytes, port, address, this.afterSend);
    } catch (err) {
      // Node throws synchronously for a bad port or argument and for a socket it already closed.
      this.report("send", errorCode(err), errorMessage(err), address, port);
    }
  }

  close(): void {
    if (!this.markClosed()) return;
    this.socket.off("message", this.onMessage);
    try {
      this.socket.close();
    } catch {
      // Node already closed it (after a socket error): nothing left to release.
    }
    // Keep an error listener: a late error event must not crash the process.
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const handler = this.handler;
    if (handler === null) return;
    handler(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo.address, rinfo.port);
  };

  private readonly afterSend = (err: Error | null): void => {
    if (err === null || err === undefined) return;
    const withPeer = err as Error & { address?: unknown; port?: unknown };
    const address = typeof withPeer.address === "string" ? withPeer.address : "";
    const port = typeof withPeer.port === "number" ? withPeer.port : 0;
    this.report("send", errorCode(err), errorMessage(err), address, port);
  };

  private readonly onSocketError = (err: Error): void => {
    this.report("socket", errorCode(err), errorMessage(err), "", 0);
  };

  private report(
    operation: TransportOperation,
    code: string,
    message: string,
    address: string,
    port: number,
  ): void {
    const handler = this.errorHandler;
    if (handler === null || this.closed) return;
    const error: TransportError = { operation, code, message, address, port };
    handler(error);
  }
}
