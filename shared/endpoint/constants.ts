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

/** Picks `o` when it is given, else `d`. */
function pick<T>(o: T | undefined, d: T): T {
  return o === undefined ? d : o;
}

/* Periods must be positive (a zero period would make an engine spin); waits may be zero. */
function checkNonNegative(name: string, v: number, positive: boolean): void {
  if (typeof v !== "number" || !(positive ? v > 0 : v >= 0)) {
    throw new Error(
      '"' + name + '" must be a ' + (positive ? "positive" : "non-negative") + " number, got " + v,
    );
  }
}

/**
 * The defaults with the given fields replaced (a field left undefined keeps its default).
 * Throws when a number is negative or not a number, naming the field in quotes.
 */
export function resolveTiming(over: Partial<Timing> | undefined): Timing {
  const o: Partial<Timing> = over === undefined ? {} : over;
  const d = DEFAULT_TIMING;
  const t: Timing = {
    heartbeatMs: pick(o.heartbeatMs, d.heartbeatMs),
    timeoutMs: pick(o.timeoutMs, d.timeoutMs),
    discoveryMs: pick(o.discoveryMs, d.discoveryMs),
    offerIntervalMs: pick(o.offerIntervalMs, d.offerIntervalMs),
    offerValidityMs: pick(o.offerValidityMs, d.offerValidityMs),
    refusalMemoryMs: pick(o.refusalMemoryMs, d.refusalMemoryMs),
    retransmitMs: pick(o.retransmitMs, d.retransmitMs),
    maxRequestSends: pick(o.maxRequestSends, d.maxRequestSends),
    failureBackoffMs: pick(o.failureBackoffMs, d.failureBackoffMs),
    rediscoveryMs: pick(o.rediscoveryMs, d.rediscoveryMs),
  };
  checkNonNegative("heartbeatMs", t.heartbeatMs, true);
  checkNonNegative("timeoutMs", t.timeoutMs, true);
  checkNonNegative("discoveryMs", t.discoveryMs, true);
  checkNonNegative("offerIntervalMs", t.offerIntervalMs, false);
  checkNonNegative("offerValidityMs", t.offerValidityMs, false);
  checkNonNegative("refusalMemoryMs", t.refusalMemoryMs, false);
  checkNonNegative("retransmitMs", t.retransmitMs, true);
  checkNonNegative("maxRequestSends", t.maxRequestSends, true);
  checkNonNegative("rediscoveryMs", t.rediscoveryMs, false);
  for (let i = 0; i < t.failureBackoffMs.length; i++) {
    checkNonNegative("failureBackoffMs", t.failureBackoffMs[i] as number, false);
  }
  return t;
}

/**
 * Capacity of an engine's outgoing control queue and event queue. When the application does not
 * poll, the oldest entry is dropped (and counted) rather than letting memory grow.
 */
export const QUEUE_CAPACITY = 64;
