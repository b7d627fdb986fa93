/**
 * The datagram contract the adapters run the sans-IO engines over (serialport's binding
 * interface): one bound UDP-like socket, reduced to what both the host (`node:dgram`) and the
 * firmware (Espruino's `dgram`) can offer, so the same engine code drives either, the in-memory
 * network of the tests, or the seeded impairment layer that wraps any of them.
 *
 * Deliberately left out:
 * - a broadcast flag: Node needs `setBroadcast(true)` before sending to a broadcast address, and
 *   Espruino needs nothing, so it is an option of whoever opens the socket, not of the engine;
 * - send callbacks and return values: UDP gives no delivery guarantee worth waiting for, and
 *   Espruino never calls its send callback; failures go to the one error handler instead;
 * - several listeners per event: one handler each (set again to replace, `null` to remove), which
 *   costs no listener arrays on the firmware and lets a wrapper take over its inner transport.
 *
 * Nothing here throws on network trouble (habit 5: receive loops never throw): bind errors belong
 * to whoever opens the transport, and every later error goes to {@link DatagramTransport.onError}.
 */

/**
 * Receives one datagram. `data` is valid only while the handler runs and must not be written to:
 * a transport may reuse the memory afterwards (the firmware may read into one preallocated
 * buffer), so a handler that keeps bytes copies them. `address` and `port` are the sender's.
 */
export type DatagramHandler = (data: Uint8Array, address: string, port: number) => void;

/**
 * What failed: one send, or the socket itself (a receive error, a socket the OS or the firmware
 * closed under us).
 */
export type TransportOperation = "send" | "socket";

/**
 * A network error reported after the transport was opened: a send the OS refused (no route,
 * datagram too large, broadcast not enabled) or a socket that broke. Plain
 * data rather than an `Error`, so the firmware builds it without subclassing.
 */
export interface TransportError {
  /** Which operation failed. */
  readonly operation: TransportOperation;
  /** The system's error code where there is one ("EMSGSIZE", "EHOSTUNREACH"), else a short name. */
  readonly code: string;
  /** A sentence for logs, naming the peer when there is one. */
  readonly message: string;
  /** The peer's address for a failed send; "" when there is none. */
  readonly address: string;
  /** The peer's port for a failed send; 0 when there is none. */
  readonly port: number;
}

/** Receives {@link TransportError}s. */
export type TransportErrorHandler = (error: TransportError) => void;

/**
 * One bound datagram socket. Implementations: `host/transport/udp.ts` (`node:dgram`),
 * `host/transport/memory.ts` (a virtual-clock network for tests), `host/transport/impair.ts`
 * (seeded loss, duplication, reordering and delay around any other), and the firmware's Espruino
 * adapter.
 */
export interface DatagramTransport {
  /** The address the socket is bound to ("0.0.0.0" when bound to all interfaces). */
  readonly localAddress: string;
  /** The port the socket is bound to (the one the OS chose, when it was opened with port 0). */
  readonly localPort: number;
  /**
   * Sends one datagram of `data.length` bytes to `address`:`port`. The bytes are read before
   * `send` returns, so the caller may reuse its buffer at once (engines encode every datagram into
   * one preallocated buffer). Never throws for network reasons, and does nothing once closed;
   * failures go to the error handler.
   */
  send(data: Uint8Array, address: string, port: number): void;
  /** Sets the one handler for received datagrams, replacing any previous one; `null` removes it. */
  onDatagram(handler: DatagramHandler | null): void;
  /**
   * Sets the one handler for network errors, replacing any previous one; `null` removes it.
   * Without a handler, errors are dropped (they never crash the program).
   */
  onError(handler: TransportErrorHandler | null): void;
  /** Releases the socket. Idempotent; no handler is called after it returns. */
  close(): void;
}
