/**
 * A transport that watches every datagram going through it, both ways, and changes nothing: a
 * wiretap for accounting. Stacked on each side of the impairment layer (wire <- tap <- impair <-
 * tap <- client), the two taps tell exactly which datagrams the layer dropped, delayed or
 * reordered, so a stress run can check the protocol's own loss figures against what really
 * happened rather than against the layer's configured rates.
 */

import type { DatagramTransport } from "../../shared/transport.js";
import { TransportBase } from "./base.js";

/** Sees one datagram: `data` is only valid during the call (copy what you keep). */
export type TapObserver = (data: Uint8Array, address: string, port: number) => void;

/** Observers of a {@link TapTransport}. */
export interface TapObservers {
  /** A datagram received from the wrapped transport, before it is handed on. */
  readonly received?: TapObserver;
  /** A datagram sent, before it goes to the wrapped transport. */
  readonly sent?: TapObserver;
  /** The transport is being closed (the wrapped one is still open: read its socket's figures now). */
  readonly closing?: () => void;
}

/** Wraps `inner`, calling the observers on every datagram; closing it closes `inner`. */
export class TapTransport extends TransportBase implements DatagramTransport {
  constructor(
    private readonly inner: DatagramTransport,
    private readonly observers: TapObservers,
  ) {
    super();
    inner.onDatagram((data, address, port) => {
      if (this.closed) return;
      this.observers.received?.(data, address, port);
      this.handler?.(data, address, port);
    });
    inner.onError((error) => {
      if (!this.closed) this.errorHandler?.(error);
    });
  }

  get localAddress(): string {
    return this.inner.localAddress;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  send(data: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    this.observers.sent?.(data, address, port);
    this.inner.send(data, address, port);
  }

  close(): void {
    if (!this.markClosed()) return;
    this.observers.closing?.();
    this.inner.close();
  }
}
