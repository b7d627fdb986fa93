/**
 * What every host transport shares: the two handler slots of the DatagramTransport contract (one
 * handler per event; setting a new one replaces the old, so a wrapper can take over) and the
 * idempotent close that drops them.
 */
import type { DatagramHandler, TransportErrorHandler } from "../../shared/transport.js";

export abstract class TransportBase {
  protected handler: DatagramHandler | null = null;
  protected errorHandler: TransportErrorHandler | null = null;
  protected closed = false;

  onDatagram(handler: DatagramHandler | null): void {
    this.handler = handler;
  }

  onError(handler: TransportErrorHandler | null): void {
    this.errorHandler = handler;
  }

  /** Marks the transport closed and drops both handlers; false when it was closed already. */
  protected markClosed(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.handler = null;
    this.errorHandler = null;
    return true;
  }
}
