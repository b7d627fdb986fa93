/**
 * A first-in first-out queue with a fixed capacity: when full, pushing drops the oldest entry
 * and counts it, so an application that stops polling cannot make an engine's memory grow.
 *
 * Espruino-safe: a plain array used with push/shift (queues stay short; Espruino arrays are
 * linked lists, so push and shift are cheap).
 */

/** Bounded FIFO of `T`. */
export class BoundedQueue<T> {
  /** Most entries held at once. */
  readonly capacity: number;
  /** Entries dropped because the queue was full. */
  dropped = 0;
  private readonly items: T[] = [];

  /** `capacity`: a positive integer. */
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Entries waiting. */
  get length(): number {
    return this.items.length;
  }

  /** Appends `item`; drops the oldest entry first when full. */
  push(item: T): void {
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(item);
  }

  /** Removes and returns the oldest entry, or undefined when empty. */
  shift(): T | undefined {
    return this.items.shift();
  }

  /** Removes every entry. */
  clear(): void {
    while (this.items.length > 0) this.items.pop();
  }
}
