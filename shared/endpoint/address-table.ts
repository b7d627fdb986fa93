/**
 * A small fixed-capacity table of addresses with one timestamp each: the server's offers and
 * refusals, the client's rediscovery targets. Full means the oldest entry is replaced, so a
 * flood of datagrams from many addresses cannot grow memory: the table is allocated once.
 *
 * Lookups scan linearly and compare the address and port fields, without building a key string
 * (no allocation per datagram); capacities are a handful of entries.
 */

/** One slot: an address, a port and a time (ms). An empty slot has port -1. */
export interface AddressSlot {
  address: string;
  port: number;
  /** When the entry was made or last refreshed (ms). */
  atMs: number;
}

/** Fixed-capacity table of address slots with oldest-first replacement. */
export class AddressTable {
  /** Slots, preallocated; empty ones have port -1. */
  readonly slots: AddressSlot[] = [];
  /** Entries replaced while still present because the table was full. */
  evictions = 0;

  /** `capacity`: slots to allocate (a positive integer). */
  constructor(capacity: number) {
    for (let i = 0; i < capacity; i++) this.slots.push({ address: "", port: -1, atMs: 0 });
  }

  /** The slot of `address:port`, or undefined. */
  find(address: string, port: number): AddressSlot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i] as AddressSlot;
      if (s.port === port && s.address === address) return s;
    }
    return undefined;
  }

  /**
   * Records `address:port` at `atMs`: refreshes its slot, or takes an empty one, or replaces the
   * entry with the oldest time. Returns the slot.
   */
  put(address: string, port: number, atMs: number): AddressSlot {
    let slot = this.find(address, port);
    if (slot === undefined) {
      let oldest: AddressSlot | undefined;
      for (let i = 0; i < this.slots.length; i++) {
        const s = this.slots[i] as AddressSlot;
        if (s.port < 0) {
          oldest = s;
          break;
        }
        if (oldest === undefined || s.atMs < oldest.atMs) oldest = s;
      }
      slot = oldest as AddressSlot;
      if (slot.port >= 0) this.evictions++;
      slot.address = address;
      slot.port = port;
    }
    slot.atMs = atMs;
    return slot;
  }

  /** Empties the slot of `address:port`, if any. */
  remove(address: string, port: number): void {
    const s = this.find(address, port);
    if (s !== undefined) {
      s.address = "";
      s.port = -1;
    }
  }

  /** Empties every slot whose time is before `beforeMs`. */
  expire(beforeMs: number): void {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i] as AddressSlot;
      if (s.port >= 0 && s.atMs < beforeMs) {
        s.address = "";
        s.port = -1;
      }
    }
  }

  /** Empties every slot. */
  clear(): void {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i] as AddressSlot;
      s.address = "";
      s.port = -1;
    }
  }

  /** Number of occupied slots. */
  count(): number {
    let n = 0;
    for (let i = 0; i < this.slots.length; i++) if ((this.slots[i] as AddressSlot).port >= 0) n++;
    return n;
  }
}
