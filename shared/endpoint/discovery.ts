/**
 * The client's Discovery schedule: while discovering, a beacon to every target (broadcast and/or
 * unicast) at once and then every `discoveryMs` (250 ms); and after a server times out, Discovery
 * to that server's address too (from then on, for `rediscoveryMs`), so that a lost
 * ConnectionResult or a server restart heals by itself (BEHAVIOUR.md, Connection step 5).
 *
 * It decides where and when; the engine encodes and queues, through the `send` function given
 * at construction (one function for the engine's life, no closure per beacon).
 */

import { type AddressSlot, AddressTable } from "./address-table.js";
import type { Timing } from "./constants.js";

/** Where Discovery goes: a broadcast address or a known server, and the server port (usually 6910). */
export interface DiscoveryTarget {
  readonly address: string;
  readonly port: number;
}

/** The Discovery beacon of a client engine. */
export class DiscoverySchedule {
  /** True between start and stop: the targets get beacons. */
  discovering = false;
  /** When the next beacon is due (ms), or Infinity. */
  nextMs = Infinity;
  private readonly targets: readonly DiscoveryTarget[];
  private readonly rediscovery: AddressTable;
  private readonly timing: Timing;
  private readonly send: (address: string, port: number) => void;

  /** `capacity`: timed-out servers remembered at once (oldest replaced). */
  constructor(
    targets: readonly DiscoveryTarget[],
    capacity: number,
    timing: Timing,
    send: (address: string, port: number) => void,
  ) {
    this.targets = targets;
    this.rediscovery = new AddressTable(capacity);
    this.timing = timing;
    this.send = send;
  }

  /** Starts beaconing the targets: one beacon now. No-op when already discovering. */
  start(nowMs: number): void {
    if (this.discovering) return;
    this.discovering = true;
    this.fire(nowMs);
  }

  /** Stops beaconing the targets (timed-out servers still get Discovery). */
  stop(): void {
    this.discovering = false;
  }

  /** Stops everything: no targets, no timed-out servers. */
  close(): void {
    this.discovering = false;
    this.expire(Infinity);
    this.nextMs = Infinity;
  }

  /** A server at `address:port` timed out: Discovery to it now, and with every beacon from now on. */
  lost(address: string, port: number, nowMs: number): void {
    this.rediscovery.put(address, port, nowMs);
    this.send(address, port);
    if (this.nextMs === Infinity) this.nextMs = nowMs + this.timing.discoveryMs;
  }

  /** Connected to `address:port`: no more Discovery aimed at it alone. */
  found(address: string, port: number): void {
    const s = this.rediscovery.find(address, port);
    if (s !== undefined) s.port = -1;
  }

  /** Beacons when due at `nowMs`. */
  handleTimeout(nowMs: number): void {
    if (nowMs >= this.nextMs) this.fire(nowMs);
  }

  /** One beacon: the targets (while discovering) and the timed-out servers; schedules the next. */
  private fire(nowMs: number): void {
    this.expire(nowMs - this.timing.rediscoveryMs);
    let sent = false;
    if (this.discovering) {
      for (let i = 0; i < this.targets.length; i++) {
        const t = this.targets[i] as DiscoveryTarget;
        this.send(t.address, t.port);
      }
      sent = true;
    }
    const slots = this.rediscovery.slots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i] as AddressSlot;
      if (s.port < 0 || (this.discovering && this.isTarget(s.address, s.port))) continue;
      this.send(s.address, s.port);
      sent = true;
    }
    this.nextMs = sent ? nowMs + this.timing.discoveryMs : Infinity;
  }

  /** Forgets the timed-out servers recorded before `beforeMs`. */
  private expire(beforeMs: number): void {
    const slots = this.rediscovery.slots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i] as AddressSlot;
      if (s.atMs < beforeMs) s.port = -1;
    }
  }

  private isTarget(address: string, port: number): boolean {
    for (let i = 0; i < this.targets.length; i++) {
      const t = this.targets[i] as DiscoveryTarget;
      if (t.port === port && t.address === address) return true;
    }
    return false;
  }
}
