/**
 * A connected peer, as both engines keep it: its address, the codec it last used, its formats,
 * liveness times, counters and, while IO runs, one receiver ({@link ReceiverLike}) per stream it
 * sends on. A peer costs a few fields plus its receivers; nothing else is allocated per peer.
 */

import type { Format, StreamFormats } from "../format.js";
import type { Codec } from "../wire/codec.js";
import { newPeerStats, type PeerStats } from "./peer-stats.js";
import type { ReceiverLike } from "./receivers.js";
import { peerKey } from "./transmit.js";

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
  /**
   * The live receivers while IO runs, one per stream in `inFormats` (their counters are not in
   * `stats` yet; the engine's `peerStats()` adds them); empty otherwise.
   */
  readonly receivers: readonly ReceiverLike[];
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
  receivers: ReceiverLike[] = [];

  /** `asServer`: true in a server engine (the peer is a client). */
  constructor(
    address: string,
    port: number,
    codec: Codec,
    formats: StreamFormats,
    asServer: boolean,
    nowMs: number,
  ) {
    this.address = address;
    this.port = port;
    this.key = peerKey(address, port);
    this.codec = codec;
    this.formats = formats;
    this.inFormats = asServer ? formats.outputs : formats.inputs;
    this.outFormats = asServer ? formats.inputs : formats.outputs;
    this.stats = newPeerStats();
    this.lastHeardMs = nowMs;
    this.lastSentMs = nowMs;
  }
}
