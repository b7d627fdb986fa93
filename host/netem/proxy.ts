/**
 * A UDP impairment proxy: a user puts it between a real board and a client (or an emulated one
 * and a test) to see how both cope with loss, bursts, duplication, reordering, delay, jitter and
 * a rate limit, all seeded and counted.
 *
 * ```
 * client ──► listen socket ──[rate limit, impair]──► upstream socket (one per client) ──► target
 * client ◄── listen socket ◄──[rate limit, impair]── upstream socket (one per client) ◄── target
 * ```
 *
 * Like a NAT, each client address:port gets its own upstream socket, so the target sees one
 * distinct peer per client. The table is bounded (`maxClients`): a new client when it is full
 * takes the place of the one silent the longest. The proxy only ever sends to the target and to
 * the clients that sent to it; anything reaching an upstream socket from elsewhere is counted and
 * dropped. Impairment is the seeded layer of host/transport/impair.ts, one instance per direction
 * and per client, so each client's decisions are reproducible from the seed and its arrival order.
 */

import type { DatagramTransport } from "../../shared/transport.js";
import {
  type ImpairedTransport,
  type ImpairmentProfile,
  type ImpairmentStats,
  impair,
} from "../transport/impair.js";
import { mixSeed } from "../transport/prng.js";
import { openUdpTransport, type UdpTransport } from "../transport/udp.js";

/** An IPv4 address and UDP port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Options of {@link startNetem}. */
export interface NetemOptions {
  /** Where clients send: the proxy's own address and port (port 0: the OS chooses). */
  readonly listen: Endpoint;
  /** Where client datagrams go (the board). */
  readonly target: Endpoint;
  /** Fault settings, the same for both directions. Defaults to none. */
  readonly profile?: Partial<Readonly<ImpairmentProfile>>;
  /** Packets per second allowed per direction (token bucket); 0 or undefined: no limit. */
  readonly ratePerSecond?: number;
  /** Bucket size (packets) of the rate limit. Defaults to max(1, ratePerSecond / 10): a 100 ms burst. */
  readonly rateBurst?: number;
  /** Seed of every random decision. Defaults to 1. */
  readonly seed?: number;
  /** Most clients tracked at once. Defaults to 16. */
  readonly maxClients?: number;
  /** Local address of the upstream sockets. Defaults to "0.0.0.0". */
  readonly upstreamAddress?: string;
  /** Clock (ms) of the rate limit. Defaults to `performance.now`. */
  readonly now?: () => number;
}

/**
 * A token bucket counting packets: `capacity` tokens, refilled at `ratePerSecond`; a packet
 * takes one token or is refused. The clock is given, so a test can drive it by hand.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {
    if (!(ratePerSecond > 0 && Number.isFinite(ratePerSecond))) {
      throw new RangeError(`"ratePerSecond" must be a finite number > 0, got ${String(ratePerSecond)}`);
    }
    if (!(capacity >= 1 && Number.isFinite(capacity))) {
      throw new RangeError(`"capacity" must be a finite number >= 1, got ${String(capacity)}`);
    }
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const t = this.now();
    const elapsedMs = t - this.last;
    this.last = t;
    if (elapsedMs > 0)
      this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
    // The tolerance absorbs the rounding of many small refills (ten 0.1-token steps sum to 0.999...).
    if (this.tokens >= 1 - 1e-9) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

/** Counters of one direction. */
export interface DirectionStats {
  /** Datagrams that reached the proxy in this direction. */
  received: number;
  /** Datagrams refused by the rate limit (before impairment). */
  rateLimited: number;
  /** The impairment layer's counts (summed over clients). */
  impairment: ImpairmentStats;
}

/** Everything the proxy counted. */
export interface NetemStats {
  /** Client to target. */
  readonly upstream: DirectionStats;
  /** Target to client. */
  readonly downstream: DirectionStats;
  /** Clients seen (table entries made). */
  clients: number;
  /** Clients in the table now. */
  activeClients: number;
  /** Entries dropped to make room for a new client. */
  evicted: number;
  /** Datagrams reaching an upstream socket from anywhere but the target (dropped). */
  foreign: number;
  /** Client datagrams dropped because their upstream socket was still opening and its queue was full. */
  pending: number;
  /** Send or socket errors reported by the sockets. */
  errors: number;
}

/** A running proxy. */
export interface Netem {
  /** The listen socket's address and port (the port the OS chose when 0 was asked). */
  readonly listen: Endpoint;
  /** Live counters (a fresh snapshot each read). */
  stats(): NetemStats;
  /** Closes every socket; held datagrams are dropped. */
  close(): void;
}

function emptyImpairment(): ImpairmentStats {
  return {
    sent: 0,
    dropped: 0,
    droppedInBurst: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    overflowed: 0,
    delivered: 0,
  };
}

function addImpairment(into: ImpairmentStats, from: ImpairmentStats): void {
  into.sent += from.sent;
  into.dropped += from.dropped;
  into.droppedInBurst += from.droppedInBurst;
  into.duplicated += from.duplicated;
  into.reordered += from.reordered;
  into.delayed += from.delayed;
  into.overflowed += from.overflowed;
  into.delivered += from.delivered;
}

/** One client's table entry. */
interface ClientEntry {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** Null while the socket is opening. */
  upstream: ImpairedTransport | null;
  /** The impaired sender back to this client (over the listen socket). */
  readonly downstream: ImpairedTransport;
  lastSeen: number;
  closed: boolean;
  /** Copies of datagrams that arrived while the upstream socket was opening. */
  queue: Uint8Array[];
}

/** Most datagrams queued per client while its upstream socket opens. */
const MAX_QUEUED = 64;

/** A send-only view of a socket, so that impairment layers over it never touch its handlers. */
function sendOnly(socket: DatagramTransport): DatagramTransport {
  return {
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    send: (data, address, port) => socket.send(data, address, port),
    onDatagram: () => {},
    onError: () => {},
    close: () => {},
  };
}

/** Starts a proxy (see the file comment). Rejects when the listen socket cannot be bound. */
export async function startNetem(options: NetemOptions): Promise<Netem> {
  const seed = options.seed ?? 1;
  const profile = options.profile ?? {};
  const maxClients = options.maxClients ?? 16;
  if (!(Number.isInteger(maxClients) && maxClients >= 1)) {
    throw new RangeError(`"maxClients" must be an integer >= 1, got ${String(maxClients)}`);
  }
  const now = options.now ?? (() => performance.now());
  const rate = options.ratePerSecond ?? 0;
  if (!(rate >= 0 && Number.isFinite(rate))) {
    throw new RangeError(`"ratePerSecond" must be a finite number >= 0, got ${String(rate)}`);
  }
  const burst = options.rateBurst ?? Math.max(1, rate / 10);
  const bucketUp = rate > 0 ? new TokenBucket(rate, burst, now) : null;
  const bucketDown = rate > 0 ? new TokenBucket(rate, burst, now) : null;
  const upstreamAddress = options.upstreamAddress ?? "0.0.0.0";
  const target = options.target;

  // Check the profile before opening anything (impair throws on a bad one).
  impair(
    sendOnly({
      localAddress: "",
      localPort: 0,
      send: () => {},
      onDatagram: () => {},
      onError: () => {},
      close: () => {},
    }),
    {
      ...profile,
      seed,
    },
  ).close();

  const listenSocket: UdpTransport = await openUdpTransport({
    address: options.listen.address,
    port: options.listen.port,
  });

  const stats: NetemStats = {
    upstream: { received: 0, rateLimited: 0, impairment: emptyImpairment() },
    downstream: { received: 0, rateLimited: 0, impairment: emptyImpairment() },
    clients: 0,
    activeClients: 0,
    evicted: 0,
    foreign: 0,
    pending: 0,
    errors: 0,
  };
  /** Impairment counts of entries no longer in the table. */
  const retiredUp = emptyImpairment();
  const retiredDown = emptyImpairment();
  const table = new Map<string, ClientEntry>();
  let clientSerial = 0;
  let closed = false;

  listenSocket.onError(() => {
    stats.errors++;
  });

  const retire = (entry: ClientEntry): void => {
    if (entry.closed) return;
    entry.closed = true;
    table.delete(entry.key);
    addImpairment(retiredDown, entry.downstream.stats.send);
    entry.downstream.close();
    if (entry.upstream !== null) {
      addImpairment(retiredUp, entry.upstream.stats.send);
      entry.upstream.close();
    }
  };

  const evictOldest = (): void => {
    let oldest: ClientEntry | null = null;
    for (const e of table.values()) if (oldest === null || e.lastSeen < oldest.lastSeen) oldest = e;
    if (oldest !== null) {
      retire(oldest);
      stats.evicted++;
    }
  };

  const newEntry = (address: string, port: number, key: string): ClientEntry => {
    if (table.size >= maxClients) evictOldest();
    const serial = ++clientSerial;
    // The listen socket is shared by every client's downstream layer: each gets a send-only view.
    const downstream = impair(sendOnly(listenSocket), {
      ...profile,
      seed: mixSeed(seed, 2 * serial),
      direction: "send",
    });
    const entry: ClientEntry = {
      key,
      address,
      port,
      upstream: null,
      downstream,
      lastSeen: now(),
      closed: false,
      queue: [],
    };
    table.set(key, entry);
    stats.clients++;
    openUdpTransport({ address: upstreamAddress, port: 0 }).then(
      (socket) => {
        if (entry.closed || closed) {
          socket.close();
          return;
        }
        const upstream = impair(socket, {
          ...profile,
          seed: mixSeed(seed, 2 * serial + 1),
          direction: "send",
        });
        upstream.onError(() => {
          stats.errors++;
        });
        upstream.onDatagram((data, from, fromPort) => {
          if (from !== target.address || fromPort !== target.port) {
            stats.foreign++;
            return;
          }
          stats.downstream.received++;
          if (bucketDown !== null && !bucketDown.take()) {
            stats.downstream.rateLimited++;
            return;
          }
          entry.downstream.send(data, entry.address, entry.port);
        });
        entry.upstream = upstream;
        const queued = entry.queue;
        entry.queue = [];
        for (const data of queued) upstream.send(data, target.address, target.port);
      },
      () => {
        stats.errors++;
        retire(entry);
      },
    );
    return entry;
  };

  function onClientDatagram(data: Uint8Array, address: string, port: number): void {
    if (closed) return;
    stats.upstream.received++;
    const key = `${address}:${port}`;
    let entry = table.get(key);
    if (entry === undefined) entry = newEntry(address, port, key);
    entry.lastSeen = now();
    if (bucketUp !== null && !bucketUp.take()) {
      stats.upstream.rateLimited++;
      return;
    }
    if (entry.upstream === null) {
      if (entry.queue.length < MAX_QUEUED) entry.queue.push(data.slice());
      else stats.pending++;
      return;
    }
    entry.upstream.send(data, target.address, target.port);
  }

  listenSocket.onDatagram(onClientDatagram);

  const bound: Endpoint = { address: listenSocket.localAddress, port: listenSocket.localPort };
  return {
    listen: bound,
    stats(): NetemStats {
      const up = emptyImpairment();
      const down = emptyImpairment();
      addImpairment(up, retiredUp);
      addImpairment(down, retiredDown);
      for (const e of table.values()) {
        addImpairment(down, e.downstream.stats.send);
        if (e.upstream !== null) addImpairment(up, e.upstream.stats.send);
      }
      return {
        upstream: { ...stats.upstream, impairment: up },
        downstream: { ...stats.downstream, impairment: down },
        clients: stats.clients,
        activeClients: table.size,
        evicted: stats.evicted,
        foreign: stats.foreign,
        pending: stats.pending,
        errors: stats.errors,
      };
    },
    close(): void {
      if (closed) return;
      closed = true;
      for (const e of [...table.values()]) retire(e);
      listenSocket.close();
    },
  };
}
