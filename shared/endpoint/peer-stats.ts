/**
 * Counters kept per peer and per engine: plain numbers, so that they cost a few JsVars on
 * Espruino and can be logged as they are. Every datagram that arrives is counted exactly once
 * in `datagramsIn`, and at most once in one of the "ignored" counters.
 */

/**
 * One connected peer's counters. The receive-side audio counters (`gapMessages` to
 * `samplesPadded`, {@link ReceiverCounters}) sum the peer's receivers (one per stream per IO
 * session, see receivers.ts): the live object holds the IO sessions that ended; the engines'
 * `peerStats()` returns a snapshot that includes the running one. Which of them are kept
 * depends on the receivers: the server's built-in index check keeps only `gapMessages`,
 * `oldMessages`, `resyncs`, `bytesReceived` and `bytesLost` (approximate, see receivers.ts).
 */
export interface PeerStats {
  /** Datagrams received from the peer. */
  datagramsIn: number;
  /** Datagrams sent to the peer (control messages queued, audio written). */
  datagramsOut: number;
  /** Undecodable datagrams, or datagrams in a codec this engine does not have. */
  bad: number;
  /** Valid messages that make no sense in the current state (ignored, no state change). */
  unexpected: number;
  /** Audio messages discarded before the receivers: IO not running, stream index out of range, n_bytes not the payload length. */
  discardedAudio: number;
  /** Audio messages handed to a stream receiver. */
  audioIn: number;
  /** Audio datagrams written for the peer. */
  audioOut: number;
  /** Audio messages that revealed a gap (lost bytes before them). */
  gapMessages: number;
  /** Audio messages discarded by a receiver as reordered or duplicated (byte_idx below the expected index). */
  oldMessages: number;
  /** Audio messages discarded by a receiver because they run past the u64 index space. */
  invalidMessages: number;
  /** Gaps too large to pad (the receiver resynchronised). */
  resyncs: number;
  /** Payload bytes of audio messages a receiver did not discard. */
  bytesReceived: number;
  /** Received bytes delivered as whole samples. */
  bytesDelivered: number;
  /** Received bytes dropped because their sample did not arrive whole. */
  bytesDropped: number;
  /** Output bytes of silence padding samples that did not arrive whole. */
  bytesLost: number;
  /** Samples of silence padding. */
  samplesPadded: number;
}

/** A fresh set of per-peer counters, all zero. */
export function newPeerStats(): PeerStats {
  // The per-datagram counters first: Espruino finds a property by walking the object's list.
  return {
    datagramsIn: 0,
    audioIn: 0,
    audioOut: 0,
    datagramsOut: 0,
    bad: 0,
    unexpected: 0,
    discardedAudio: 0,
    gapMessages: 0,
    oldMessages: 0,
    invalidMessages: 0,
    resyncs: 0,
    bytesReceived: 0,
    bytesDelivered: 0,
    bytesDropped: 0,
    bytesLost: 0,
    samplesPadded: 0,
  };
}

/** The receive-side counters of {@link PeerStats}: what a receiver may keep (receivers.ts). */
export type ReceiverCounters = Pick<
  PeerStats,
  | "gapMessages"
  | "oldMessages"
  | "invalidMessages"
  | "resyncs"
  | "bytesReceived"
  | "bytesDelivered"
  | "bytesDropped"
  | "bytesLost"
  | "samplesPadded"
>;

/**
 * Adds to `into` every counter of `from` that has a PeerStats name: all of them for a PeerStats
 * (a copy when `into` is fresh), the ones a receiver keeps for a receiver. One loop over the
 * names instead of a line per field.
 */
export function addCounters(into: PeerStats, from: Partial<PeerStats>): void {
  let k: keyof PeerStats;
  for (k in into) {
    const v = from[k];
    if (v !== undefined) into[k] += v;
  }
}

/** Counters of an engine as a whole, for datagrams that belong to no connected peer. */
export interface EngineStats {
  /** Every datagram passed to `receive`. */
  datagramsIn: number;
  /** Every datagram sent (control messages queued, audio written). */
  datagramsOut: number;
  /** Datagrams from an address that is not a connected peer and that the engine ignored (bad ones included). */
  fromUnknown: number;
  /** Of those, the undecodable ones (or in a codec this engine does not have). */
  badFromUnknown: number;
  /** Server: Discovery not answered (no room, refused recently, or offered less than `offerIntervalMs` ago). */
  offersWithheld: number;
  /** Outgoing control datagrams dropped because the application did not poll them (queue full). */
  transmitsDropped: number;
  /** Events dropped because the application did not poll them (queue full, or an audio event overwritten). */
  eventsDropped: number;
}

/** A fresh set of engine counters, all zero. */
export function newEngineStats(): EngineStats {
  return {
    datagramsIn: 0,
    datagramsOut: 0,
    fromUnknown: 0,
    badFromUnknown: 0,
    offersWithheld: 0,
    transmitsDropped: 0,
    eventsDropped: 0,
  };
}
