/**
 * The server's protocol engine (BEHAVIOUR.md), sans-IO in the manner of smoltcp and quinn-proto:
 * no sockets, no timers, no clock. The application feeds it datagrams (`receive`) and the time
 * (`handleTimeout` when `nextDeadline()` has passed), sends what `pollTransmit()` returns, reads
 * `pollEvent()`, and writes audio with `writeAudio` into its own preallocated buffer. The same
 * code runs in the Espruino firmware and in the host's emulator.
 *
 * What it owns:
 * - offers: `Connect(formats)` in answer to `Discovery` from an address that is not connected,
 *   when there is room (fewer than `maxClients` connected), at most once per `offerIntervalMs`
 *   (250 ms) per address, and never within `refusalMemoryMs` (10 s) of that address refusing.
 *   Offers and refusals live in small fixed tables ({@link AddressTable}, oldest replaced), so a
 *   Discovery flood from many addresses cannot grow memory.
 * - connections: a ConnectionResult is taken only from an address offered to within
 *   `offerValidityMs` (2 s). Ok connects (event; a client that accepts while the server has
 *   filled up meanwhile gets Disconnect), Failure forgets the offer, Refusal is remembered.
 * - liveness: every decodable message from a connected client refreshes its deadline (audio
 *   included), except Discovery: a connected client that broadcasts Discovery is looking for
 *   other servers, and one that unicasts it to us believes it is not connected, which only our
 *   timeout can clear (so Discovery must not keep the connection alive). Timeout after
 *   `timeoutMs` (600 ms); Heartbeat after `heartbeatMs` (100 ms) without sending anything.
 * - IO: Start and Stop requests, idempotent, with the streaming limit.
 *
 * Start and the application: a server must allocate and anchor its clocks BEFORE Start(Ok)
 * leaves. The engine therefore asks the application synchronously, through the `onStartIO`
 * option, while handling the request: the callback does its initialisation and returns an
 * {@link Outcome}; only `"ok"` queues Start(Ok), `"failure"` or `"refusal"` are sent back as they
 * are. A callback makes the ordering a property of the engine instead of the application's event
 * loop, and lets the application fail or refuse (e.g. out of memory). `onStopIO` is called before
 * Stop(Ok) is queued and whenever a streaming connection ends. Callbacks must not call `receive`
 * or `handleTimeout` of the same engine.
 *
 * Bad input never throws and never changes state (BEHAVIOUR.md "Bad input"): it is counted in
 * the peer's {@link PeerStats} or, for addresses that are not connected, in {@link EngineStats}.
 *
 * Espruino-safe; per audio message nothing is allocated beyond what the decoder returns and the
 * audio event's payload view (none at all with `audioEvents: false`).
 */

import type { StreamReceiver } from "../audio/receiver.js";
import type { Format, StreamFormats } from "../format.js";
import { formatProblem } from "../format.js";
import type { AudioHeader, ClientMessage, IOState, Outcome, ServerMessage } from "../message.js";
import { Server } from "../message.js";
import type { U64 } from "../u64.js";
import { type Codec, detectCodec } from "../wire/codec.js";
import { AddressTable } from "./address-table.js";
import {
  AUDIO_DISCARDED,
  type AudioSinkFactory,
  acceptAudio,
  closeReceivers,
  openReceivers,
  writeAudioDatagram,
} from "./audio-path.js";
import { QUEUE_CAPACITY, resolveTiming, type Timing } from "./constants.js";
import { EventQueue } from "./event-queue.js";
import type { ServerEvent } from "./events.js";
import { findPeer, findPeerByKey, Peer, type PeerInfo, removePeer } from "./peer.js";
import {
  addReceiverCounters,
  copyPeerStats,
  type EngineStats,
  newEngineStats,
  type PeerStats,
} from "./peer-stats.js";
import { BoundedQueue } from "./queue.js";
import { codecByName, type EndpointCodecs, peerKey, serverTransmit, type Transmit } from "./transmit.js";

/** Options of a {@link ServerEngine}. Only `formats` and `codecs` are required. */
export interface ServerOptions {
  /** What the server advertises in Connect: fixed for the engine's life. Validated (throws on a bad one). */
  readonly formats: StreamFormats;
  /** Codecs to understand; each client is answered in the codec it last used. */
  readonly codecs: EndpointCodecs;
  /** Most clients connected at once; no offers while full. Defaults to 4. */
  readonly maxClients?: number;
  /** Most clients streaming at once; Start beyond it is answered Start(Err(Failure)). Defaults to 1. */
  readonly maxStreamingClients?: number;
  /**
   * Called on a Start request from a connected, non-streaming client within the streaming limit,
   * BEFORE any reply: initialise, allocate, anchor clocks at `nowMs`, and return the outcome to
   * send (`"ok"` starts IO). Defaults to always `"ok"`.
   */
  readonly onStartIO?: (peer: string, nowMs: number) => Outcome;
  /** Called when a client's IO stops (Stop request, disconnect, timeout, close), before Stop(Ok). */
  readonly onStopIO?: (peer: string, nowMs: number) => void;
  /** Sinks of the output streams' receivers, made at each IO start. Defaults to none (count only). */
  readonly audioSink?: AudioSinkFactory;
  /** Emit an `audio` event per valid audio message. Defaults to true. */
  readonly audioEvents?: boolean;
  /** Offers remembered (for `offerIntervalMs` and `offerValidityMs`). Defaults to 8. */
  readonly maxOffers?: number;
  /** Refusals remembered (for `refusalMemoryMs`). Defaults to 8. */
  readonly maxRefusals?: number;
  /** Timing overrides (tests). Defaults to DEFAULT_TIMING. */
  readonly timing?: Partial<Timing>;
}

/** Checks that `v` is undefined or an integer >= `min`; returns it or `dflt`. */
function intOption(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v >= min) || Math.floor(v) !== v) {
    throw new Error('"' + name + '" must be an integer of at least ' + min + ", got " + v);
  }
  return v;
}

/** Checks every advertised format; throws naming the first bad one. */
function checkFormats(fs: StreamFormats): void {
  for (let i = 0; i < fs.inputs.length; i++) {
    const p = formatProblem(fs.inputs[i] as Format);
    if (p !== undefined) throw new Error('"formats": input ' + i + ": " + p);
  }
  for (let i = 0; i < fs.outputs.length; i++) {
    const p = formatProblem(fs.outputs[i] as Format);
    if (p !== undefined) throw new Error('"formats": output ' + i + ": " + p);
  }
}

/* Defaults of the callbacks. */
function alwaysOk(): Outcome {
  return "ok";
}
function doNothing(): void {
  // no application hook
}

/** The server side of the protocol for any number of clients (see the file comment). */
export class ServerEngine {
  /** The advertised formats. */
  readonly formats: StreamFormats;
  /** The timing in use. */
  readonly timing: Timing;
  /** Counters for datagrams that belong to no connected client, and queue overflows. */
  readonly stats: EngineStats;
  /** Most clients connected at once. */
  readonly maxClients: number;
  /** Most clients streaming at once. */
  readonly maxStreamingClients: number;

  private readonly codecs: EndpointCodecs;
  private readonly onStartIO: (peer: string, nowMs: number) => Outcome;
  private readonly onStopIO: (peer: string, nowMs: number) => void;
  private readonly audioSink: AudioSinkFactory | undefined;
  private readonly audioEvents: boolean;
  private readonly peers: Peer[] = [];
  private readonly offers: AddressTable;
  private readonly refusals: AddressTable;
  private readonly transmits: BoundedQueue<Transmit>;
  private readonly events: EventQueue<ServerEvent>;
  private readonly connectMsg: ServerMessage;
  private readonly audioHeader: AudioHeader;
  private readonly audioMsg: ServerMessage;
  private streaming = 0;

  constructor(options: ServerOptions) {
    checkFormats(options.formats);
    if (options.codecs === undefined || options.codecs.postcard === undefined) {
      throw new Error('"codecs" must hold at least the postcard codec');
    }
    this.formats = options.formats;
    this.codecs = options.codecs;
    this.timing = resolveTiming(options.timing);
    this.stats = newEngineStats();
    this.maxClients = intOption("maxClients", options.maxClients, 4, 1);
    this.maxStreamingClients = intOption("maxStreamingClients", options.maxStreamingClients, 1, 0);
    this.onStartIO = options.onStartIO === undefined ? alwaysOk : options.onStartIO;
    this.onStopIO = options.onStopIO === undefined ? doNothing : options.onStopIO;
    this.audioSink = options.audioSink;
    this.audioEvents = options.audioEvents !== false;
    this.offers = new AddressTable(intOption("maxOffers", options.maxOffers, 8, 1));
    this.refusals = new AddressTable(intOption("maxRefusals", options.maxRefusals, 8, 1));
    this.transmits = new BoundedQueue<Transmit>(QUEUE_CAPACITY);
    this.events = new EventQueue<ServerEvent>();
    this.connectMsg = { type: "connect", formats: options.formats };
    const zero: U64 = { hi: 0, lo: 0 };
    this.audioHeader = { streamIdx: 0, byteIdx: zero, nBytes: 0 };
    this.audioMsg = { type: "audio", header: this.audioHeader };
  }

  // -------------------------------------------------------------------------------------------
  // Application interface

  /**
   * Handles one datagram from `address:port` received at `nowMs`. Never throws (unless an
   * application callback or sink does); bad or out-of-place datagrams are counted and ignored.
   * An audio event's payload is a view into `data`, valid until the next call.
   */
  receive(data: Uint8Array, address: string, port: number, nowMs: number): void {
    this.stats.datagramsIn++;
    const peer = findPeer(this.peers, address, port);
    if (peer !== undefined) peer.stats.datagramsIn++;
    const codec = codecByName(this.codecs, detectCodec(data, 0));
    const d = codec === undefined ? undefined : codec.client.decode(data, 0);
    if (codec === undefined || d === undefined || !d.ok) {
      if (peer !== undefined) peer.stats.bad++;
      else {
        this.stats.fromUnknown++;
        this.stats.badFromUnknown++;
      }
      return;
    }
    const msg = d.message;
    if (peer === undefined) {
      this.fromStranger(msg, codec, address, port, nowMs);
      return;
    }
    if (msg.type === "discovery") return;
    peer.codec = codec;
    peer.lastHeardMs = nowMs;
    switch (msg.type) {
      case "connectionResult":
        if (msg.result !== "ok") peer.stats.unexpected++;
        return;
      case "heartbeat":
        return;
      case "ioRequest":
        this.onRequest(peer, msg.state, nowMs);
        return;
      case "audio":
        this.onAudio(peer, msg.header, data, d.end);
        return;
      case "disconnect":
        this.drop(peer, nowMs, "disconnected", "peer");
        return;
    }
  }

  /** Runs the timers due at `nowMs`: timeouts, then heartbeats. Call it once `nowMs >= nextDeadline()`. */
  handleTimeout(nowMs: number): void {
    const t = this.timing;
    for (let i = this.peers.length - 1; i >= 0; i--) {
      const p = this.peers[i] as Peer;
      if (nowMs >= p.lastHeardMs + t.timeoutMs) {
        this.drop(p, nowMs, "timedOut", "peer");
      } else if (nowMs >= p.lastSentMs + t.heartbeatMs) {
        if (p.sentSinceMark) {
          p.sentSinceMark = false;
          p.lastSentMs = nowMs;
        } else {
          this.send(p, Server.HEARTBEAT, nowMs);
        }
      }
    }
  }

  /** The earliest time (ms) `handleTimeout` has work, or Infinity when no client is connected. */
  nextDeadline(): number {
    const t = this.timing;
    let next = Infinity;
    for (let i = 0; i < this.peers.length; i++) {
      const p = this.peers[i] as Peer;
      const timeout = p.lastHeardMs + t.timeoutMs;
      const heartbeat = p.lastSentMs + t.heartbeatMs;
      if (timeout < next) next = timeout;
      if (heartbeat < next) next = heartbeat;
    }
    return next;
  }

  /** The next control datagram to send, or undefined. A fresh array each: keep it as long as you need. */
  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  /** The next event, or undefined. See {@link ServerEvent}; the audio event object is reused. */
  pollEvent(): ServerEvent | undefined {
    return this.events.poll();
  }

  /**
   * Writes an audio datagram for client `peer` on input stream `streamIdx` into
   * `out[outOffset...]`: the header in the codec that client speaks (byte_idx `byteIdx`, n_bytes
   * = `payload.length`), then a copy of `payload`. Returns the datagram's length, to be sent to
   * the client's address and port; returns 0 (nothing written) when the client is not connected
   * or not streaming, or the stream index is not one of the input streams: a stop may always
   * race the application. Throws when `out` is too small (a programming error). Keep
   * datagrams within 1472 bytes (shared/audio/sender.ts chooses payload sizes that do).
   */
  writeAudio(
    peer: string,
    streamIdx: number,
    byteIdx: U64,
    payload: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): number {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined || !p.streaming || !(streamIdx >= 0 && streamIdx < p.outFormats.length)) return 0;
    const n = writeAudioDatagram(
      p.codec.server,
      this.audioMsg,
      this.audioHeader,
      streamIdx,
      byteIdx,
      payload,
      out,
      outOffset,
    );
    p.sentSinceMark = true;
    p.stats.audioOut++;
    p.stats.datagramsOut++;
    this.stats.datagramsOut++;
    return n;
  }

  /** Sends Disconnect to `peer` and ends the connection (events follow). Returns false when it is not connected. */
  disconnect(peer: string, nowMs: number): boolean {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined) return false;
    this.send(p, Server.DISCONNECT, nowMs);
    this.drop(p, nowMs, "disconnected", "us");
    return true;
  }

  /** Shuts down cleanly: Disconnect to every connected client, each connection ended. */
  close(nowMs: number): void {
    while (this.peers.length > 0) this.disconnect((this.peers[0] as Peer).key, nowMs);
  }

  /** The connected client `peer`, or undefined. The object is live: read it, do not keep it past a disconnect. */
  peer(peer: string): PeerInfo | undefined {
    return findPeerByKey(this.peers, peer);
  }

  /** Keys of the connected clients (a new array). */
  peerKeys(): string[] {
    const keys: string[] = [];
    for (let i = 0; i < this.peers.length; i++) keys.push((this.peers[i] as Peer).key);
    return keys;
  }

  /** A snapshot of client `peer`'s counters including its running receivers, or undefined. Allocates. */
  peerStats(peer: string): PeerStats | undefined {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined) return undefined;
    const s = copyPeerStats(p.stats);
    for (let i = 0; i < p.receivers.length; i++) addReceiverCounters(s, p.receivers[i] as StreamReceiver);
    return s;
  }

  /** The live receiver of client `peer`'s output stream `streamIdx` while it streams, or undefined. */
  receiver(peer: string, streamIdx: number): StreamReceiver | undefined {
    const p = findPeerByKey(this.peers, peer);
    return p === undefined ? undefined : p.receivers[streamIdx];
  }

  /** Clients connected now. */
  get connectedCount(): number {
    return this.peers.length;
  }

  /** Clients streaming now. */
  get streamingCount(): number {
    return this.streaming;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** Queues `msg` to a connected client in its codec; sending counts as activity (no heartbeat due). */
  private send(p: Peer, msg: ServerMessage, nowMs: number): void {
    this.queue(serverTransmit(p.codec, msg, p.address, p.port));
    p.stats.datagramsOut++;
    p.lastSentMs = nowMs;
    p.sentSinceMark = false;
  }

  private queue(t: Transmit): void {
    this.transmits.push(t);
    this.stats.datagramsOut++;
    this.stats.transmitsDropped = this.transmits.dropped;
  }

  private emit(e: ServerEvent): void {
    this.events.push(e);
    this.stats.eventsDropped = this.events.dropped;
  }

  /** A decodable message from an address that is not connected: Discovery and answers to offers only. */
  private fromStranger(msg: ClientMessage, codec: Codec, address: string, port: number, nowMs: number): void {
    if (msg.type === "discovery") {
      this.offer(codec, address, port, nowMs);
      return;
    }
    const offer = msg.type === "connectionResult" ? this.offers.find(address, port) : undefined;
    if (
      msg.type !== "connectionResult" ||
      offer === undefined ||
      nowMs - offer.atMs > this.timing.offerValidityMs
    ) {
      this.stats.fromUnknown++;
      return;
    }
    this.offers.remove(address, port);
    const key = peerKey(address, port);
    if (msg.result === "ok") {
      if (this.peers.length >= this.maxClients) {
        this.queue(serverTransmit(codec, Server.DISCONNECT, address, port));
        this.stats.fromUnknown++;
        return;
      }
      const p = new Peer(address, port, key, codec, this.formats, true, nowMs);
      this.peers.push(p);
      this.emit({ type: "connected", peer: key, codec: codec.name });
      return;
    }
    if (msg.result === "refusal") this.refusals.put(address, port, nowMs);
    this.emit({ type: "declined", peer: key, result: msg.result });
  }

  /** Answers Discovery from an address that is not connected with an offer, when allowed. */
  private offer(codec: Codec, address: string, port: number, nowMs: number): void {
    const t = this.timing;
    const refused = this.refusals.find(address, port);
    const last = this.offers.find(address, port);
    if (
      (refused !== undefined && nowMs - refused.atMs < t.refusalMemoryMs) ||
      this.peers.length >= this.maxClients ||
      (last !== undefined && nowMs - last.atMs < t.offerIntervalMs)
    ) {
      this.stats.offersWithheld++;
      return;
    }
    this.offers.put(address, port, nowMs);
    this.queue(serverTransmit(codec, this.connectMsg, address, port));
  }

  /** A Start or Stop request from a connected client. */
  private onRequest(p: Peer, state: IOState, nowMs: number): void {
    if (state === "stop") {
      if (p.streaming) this.stopIO(p, nowMs);
      this.send(p, Server.STOP_IO_OK, nowMs);
      return;
    }
    if (p.streaming) {
      this.send(p, Server.START_IO_OK, nowMs);
      return;
    }
    if (this.streaming >= this.maxStreamingClients) {
      this.send(p, Server.START_IO_FAILED, nowMs);
      return;
    }
    const outcome = this.onStartIO(p.key, nowMs);
    if (outcome !== "ok") {
      this.send(p, outcome === "refusal" ? Server.START_IO_REFUSED : Server.START_IO_FAILED, nowMs);
      return;
    }
    p.streaming = true;
    this.streaming++;
    openReceivers(p, this.audioSink);
    this.emit({ type: "ioStarted", peer: p.key });
    this.send(p, Server.START_IO_OK, nowMs);
  }

  /** Stops a streaming client's IO: the application first, then receivers freed, then the event. */
  private stopIO(p: Peer, nowMs: number): void {
    this.onStopIO(p.key, nowMs);
    p.streaming = false;
    this.streaming--;
    closeReceivers(p);
    this.emit({ type: "ioStopped", peer: p.key });
  }

  private onAudio(p: Peer, header: AudioHeader, data: Uint8Array, end: number): void {
    const status = acceptAudio(p, header, data, end);
    if (status === AUDIO_DISCARDED || !this.audioEvents) return;
    const e = this.events.audio;
    e.peer = p.key;
    e.streamIdx = header.streamIdx;
    e.byteIdx = header.byteIdx;
    e.payload = data.subarray(end);
    e.status = status;
    this.events.pushAudio();
    this.stats.eventsDropped = this.events.dropped;
  }

  /** Ends a connection: IO stopped first if it runs, the peer forgotten, then the event. */
  private drop(p: Peer, nowMs: number, kind: "disconnected" | "timedOut", by: "peer" | "us"): void {
    if (p.streaming) this.stopIO(p, nowMs);
    removePeer(this.peers, p);
    if (kind === "timedOut") this.emit({ type: "timedOut", peer: p.key, stats: p.stats });
    else this.emit({ type: "disconnected", peer: p.key, by: by, stats: p.stats });
  }
}
