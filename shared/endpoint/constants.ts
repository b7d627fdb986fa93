/**
 * Timing and sizing constants of the protocol engines (BEHAVIOUR.md), in one object per idea so
 * that tests can shrink or stretch them. All times are milliseconds on whatever monotonic clock
 * the caller passes in as `nowMs`.
 *
 * Espruino-safe: plain objects, no spread, no Object.freeze.
 */

/** The UDP port a server listens on by default. */
export const DEFAULT_SERVER_PORT = 6910;

/** Every timer of the engines. Defaults: {@link DEFAULT_TIMING}. */
export interface Timing {
  /** Send a Heartbeat to a connected peer after this long without sending it anything (ms). Defaults to 100. */
  readonly heartbeatMs: number;
  /** Drop a connected peer after this long without a valid message from it (ms). Defaults to 600. */
  readonly timeoutMs: number;
  /** Client: period of Discovery beacons while discovering (ms). Defaults to 250. */
  readonly discoveryMs: number;
  /** Server: at most one Connect offer per address per this period (ms). Defaults to 250. */
  readonly offerIntervalMs: number;
  /** Server: an offer can be answered with a ConnectionResult for this long (ms). Defaults to 2000. */
  readonly offerValidityMs: number;
  /** Server: no offer to an address that refused one, for this long (ms). Defaults to 10000. */
  readonly refusalMemoryMs: number;
  /** Client: an unanswered IO request is sent again after this long (ms). Defaults to 100. */
  readonly retransmitMs: number;
  /** Client: sends of one IO request attempt, the first included, before giving up. Defaults to 10. */
  readonly maxRequestSends: number;
  /**
   * Client: waits (ms) before each new attempt after a `Failure` reply: one entry per retry, so
   * `length + 1` attempts in all; after the last failure the request is reported failed.
   * Defaults to [200, 400, 800, 1600] (5 attempts over about 3 s, doubling like any backoff, and
   * well inside the receiver's 3 s gap bound).
   */
  readonly failureBackoffMs: readonly number[];
  /**
   * Client: after a server times out, Discovery is also sent to its address (every
   * `discoveryMs`) for this long, so that a lost ConnectionResult or a server restart heals
   * without the application (ms). Defaults to 60000.
   */
  readonly rediscoveryMs: number;
}

/** The protocol's timing (BEHAVIOUR.md; the reference's 600 ms timeout). */
export const DEFAULT_TIMING: Timing = {
  heartbeatMs: 100,
  timeoutMs: 600,
  discoveryMs: 250,
  offerIntervalMs: 250,
  offerValidityMs: 2000,
  refusalMemoryMs: 10000,
  retransmitMs: 100,
  maxRequestSends: 10,
  failureBackoffMs: [200, 400, 800, 1600],
  rediscoveryMs: 60000,
};

/** The timing fields that are periods. */
type Period = "heartbeatMs" | "timeoutMs" | "discoveryMs" | "retransmitMs" | "maxRequestSends";

/** Timing fields that are periods: zero, negative or NaN would make an engine spin or stall. */
const PERIODS: readonly Period[] = [
  "heartbeatMs",
  "timeoutMs",
  "discoveryMs",
  "retransmitMs",
  "maxRequestSends",
];

/** Sets field `k` of a Timing being built. */
function setField<K extends keyof Timing>(t: Timing, k: K, v: Timing[K]): void {
  (t as { -readonly [F in keyof Timing]: Timing[F] })[k] = v;
}

/**
 * The defaults with the given fields replaced (a field left undefined keeps its default). One
 * compact check: throws, naming the field in quotes, when a period ({@link PERIODS}) is not a
 * positive number. The other values are taken as they are (a negative wait acts as zero).
 */
export function resolveTiming(over: Partial<Timing> | undefined): Timing {
  // No overrides: the defaults themselves (never written), not a copy (21 blocks on Espruino).
  if (over === undefined) return DEFAULT_TIMING;
  const t: Timing = Object.assign({}, DEFAULT_TIMING);
  let k: keyof Timing;
  if (over !== undefined) {
    for (k in over) {
      const v = over[k];
      if (v !== undefined) setField(t, k, v);
    }
  }
  for (const p of PERIODS) if (!(t[p] > 0)) throw new Error('"' + p + '" must be positive');
  return t;
}

/**
 * Capacity of an engine's outgoing control queue and event queue. When the application does not
 * poll, the oldest entry is dropped (and counted) rather than letting memory grow.
 */
export const QUEUE_CAPACITY = 64;
