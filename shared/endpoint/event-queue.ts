/**
 * The engines' outbox of events. Control events are queued (bounded, oldest dropped); the audio
 * event is ONE preallocated object, reused for every audio message, that takes its place in the
 * order of events without being queued: `audioAhead` counts the queued events that came before
 * it. A new audio message arriving before the previous audio event was polled overwrites it
 * (counted as dropped): the event's payload is a view into a datagram the application may have
 * reused by then anyway.
 */

import type { U64 } from "../u64.js";
import { QUEUE_CAPACITY } from "./constants.js";
import type { AudioEvent } from "./events.js";
import { BoundedQueue } from "./queue.js";

const EMPTY = new Uint8Array(0);

/** Outbox of events of type `E` plus the reused audio event. */
export class EventQueue<E> {
  /** The reused audio event: fill its fields, then call {@link pushAudio}. */
  readonly audio: AudioEvent;
  /** Events dropped: queue overflow, or an audio event overwritten before it was polled. */
  dropped = 0;
  private readonly queue: BoundedQueue<E>;
  private audioPending = false;
  private audioAhead = 0;

  constructor() {
    this.queue = new BoundedQueue<E>(QUEUE_CAPACITY);
    const zero: U64 = { hi: 0, lo: 0 };
    this.audio = { type: "audio", peer: "", streamIdx: 0, byteIdx: zero, payload: EMPTY, status: 0 };
  }

  /** Queues a control event. */
  push(e: E): void {
    if (this.queue.length >= this.queue.capacity) {
      this.dropped++;
      if (this.audioPending && this.audioAhead > 0) this.audioAhead--;
    }
    this.queue.push(e);
  }

  /** Makes the (already filled) audio event the next event after those queued so far. */
  pushAudio(): void {
    if (this.audioPending) this.dropped++;
    this.audioPending = true;
    this.audioAhead = this.queue.length;
  }

  /** The next event, or undefined. */
  poll(): E | AudioEvent | undefined {
    if (this.audioPending) {
      if (this.audioAhead === 0) {
        this.audioPending = false;
        return this.audio;
      }
      this.audioAhead--;
    }
    return this.queue.shift();
  }
}
