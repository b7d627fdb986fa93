/**
 * A connected peer, as both engines keep it: its address, the codec it last used, its formats,
 * liveness times, counters and, while IO runs, one {@link StreamReceiver} per stream it sends
 * on. A peer costs a few fields plus its receivers; nothing else is allocated per peer.
 */

import type { StreamReceiver } from "../audio/receiver.js";
import type { Format, StreamFormats } from "../format.js";
import type { Codec } from "../wire/codec.js";
import { newPeerStats, type PeerStats } from "./peer-stats.js";

/** What the application may read about a connected peer (the engines' `peer()` returns it). */
export interface PeerInfo {
  /** `"address:port"`. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** The codec of the last decodable datagram from the peer: the one we answer in. */
  readonly codec: Codec;
  /** The server's formats, fixed for the life of the connection. */
  readonly formats: StreamFormats;
  /** Streams the peer sends audio on (server: its output streams; client: the server's input streams). */
  readonly inFormats: readonly Format[];
  /** Streams we send audio on (server: its input streams; client: the server's output streams). */
  readonly outFormats: readonly Format[];
  /** Counters (receiver counters: IO sessions that ended; see the engine's `peerStats()`). */
  readonly stats: PeerStats;
  /** True while audio flows both ways (server: after Start(Ok); client: after it received Start(Ok), until Stop). */
  readonly streaming: boolean;
}

/** The engines' peer record. Fields are the engines' to change. */
export class Peer implements PeerInfo {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  codec: Codec;
  readonly formats: StreamFormats;
  readonly inFormats: readonly Format[];
  readonly outFormats: readonly Format[];
  readonly stats: PeerStats;
  streaming = false;
  /** Last time a valid message from the peer refreshed its liveness (ms). */
  lastHeardMs: number;
  /** Last time we sent it a control message, or noticed audio sent to it (ms). */
  lastSentMs: number;
  /** Audio was written for the peer since `lastSentMs` (writeAudio takes no clock). */
  sentSinceMark = false;
  /** One receiver per stream in `inFormats` while streaming; empty otherwise. */
  receivers: StreamReceiver[] = [];

  /** `asServer`: true in a server engine (the peer is a client). */
  constructor(
    address: string,
    port: number,
    key: string,
    codec: Codec,
    formats: StreamFormats,
    asServer: boolean,
    nowMs: number,
  ) {
    this.address = address;
    this.port = port;
    this.key = key;
    this.codec = codec;
    this.formats = formats;
    this.inFormats = asServer ? formats.outputs : formats.inputs;
    this.outFormats = asServer ? formats.inputs : formats.outputs;
    this.stats = newPeerStats();
    this.lastHeardMs = nowMs;
    this.lastSentMs = nowMs;
  }
}

/** The peer at `address:port` in `peers`, or undefined; compares fields, builds no string. */
export function findPeer<P extends Peer>(peers: readonly P[], address: string, port: number): P | undefined {
  for (let i = 0; i < peers.length; i++) {
    const p = peers[i] as P;
    if (p.port === port && p.address === address) return p;
  }
  return undefined;
}

/** The peer whose key is `key` in `peers`, or undefined. */
export function findPeerByKey<P extends Peer>(peers: readonly P[], key: string): P | undefined {
  for (let i = 0; i < peers.length; i++) {
    const p = peers[i] as P;
    if (p.key === key) return p;
  }
  return undefined;
}

/** Removes `peer` from `peers` (in place). */
export function removePeer<P extends Peer>(peers: P[], peer: P): void {
  for (let i = 0; i < peers.length; i++) {
    if (peers[i] === peer) {
      peers.splice(i, 1);
      return;
    }
  }
}
