/**
 * A small fixed-capacity table of addresses with one timestamp each: the server's offers and
 * refusals, the client's rediscovery targets. Full means the oldest entry is replaced, so a
 * flood of datagrams from many addresses cannot grow memory: the table is allocated once.
 *
 * Lookups scan linearly and compare the address and port fields, without building a key string
 * (no allocation per datagram); capacities are a handful of entries. Loops are `for...of`: on
 * Espruino, whose arrays are linked lists, indexing is O(n) but iterating is not.
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
  /** Slots, preallocated; empty ones have port -1 (set `port = -1` to empty one). */
  readonly slots: AddressSlot[] = [];

  /** `capacity`: slots to allocate (a positive integer). */
  constructor(capacity: number) {
    for (let i = 0; i < capacity; i++) this.slots.push({ address: "", port: -1, atMs: 0 });
  }

  /** The slot of `address:port`, or undefined. */
  find(address: string, port: number): AddressSlot | undefined {
    for (const s of this.slots) if (s.port === port && s.address === address) return s;
    return undefined;
  }

  /**
   * Records `address:port` at `atMs`: refreshes its slot, or takes an empty one, or replaces the
   * entry with the oldest time (empty slots have port -1 and are taken first as "oldest").
   */
  put(address: string, port: number, atMs: number): void {
    let slot = this.find(address, port);
    if (slot === undefined) {
      slot = this.slots[0] as AddressSlot;
      for (const s of this.slots) if (s.port < 0 || (slot.port >= 0 && s.atMs < slot.atMs)) slot = s;
      slot.address = address;
      slot.port = port;
    }
    slot.atMs = atMs;
  }
}
