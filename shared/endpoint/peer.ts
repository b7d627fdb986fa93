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

/**
 * The engines' peer record. Fields are the engines' to change. They are assigned in the order
 * the audio path reads them: Espruino finds a property by walking the object's list, so the
 * per-datagram ones come first.
 */
export class Peer implements PeerInfo {
  readonly port: number;
  readonly address: string;
  readonly stats: PeerStats;
  receivers: ReceiverLike[];
  codec: Codec;
  /** Last time a valid message from the peer refreshed its liveness (ms). */
  lastHeardMs: number;
  streaming: boolean;
  readonly outFormats: readonly Format[];
  /** Last time we sent it anything (ms): a control message, or audio (the heartbeat is due 100 ms after). */
  lastSentMs: number;
  readonly key: string;
  readonly formats: StreamFormats;
  readonly inFormats: readonly Format[];

  /** `asServer`: true in a server engine (the peer is a client). */
  constructor(
    address: string,
    port: number,
    codec: Codec,
    formats: StreamFormats,
    asServer: boolean,
    nowMs: number,
  ) {
    this.port = port;
    this.address = address;
    this.stats = newPeerStats();
    this.receivers = [];
    this.codec = codec;
    this.lastHeardMs = nowMs;
    this.streaming = false;
    this.outFormats = asServer ? formats.inputs : formats.outputs;
    this.lastSentMs = nowMs;
    this.key = peerKey(address, port);
    this.formats = formats;
    this.inFormats = asServer ? formats.outputs : formats.inputs;
  }
}
