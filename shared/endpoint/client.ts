/**
 * The client's protocol engine (BEHAVIOUR.md) for any number of servers at once, sans-IO like
 * the server's (server.ts): datagrams and the time go in, datagrams, a deadline and events come
 * out, audio is written into the caller's buffer.
 *
 * What it owns:
 * - discovery: while discovering, `Discovery` to every target (broadcast and/or unicast) every
 *   `discoveryMs` (250 ms), the first at once. After a server times out, Discovery also goes to
 *   that server's address for `rediscoveryMs`: BEHAVIOUR.md's recovery from a lost
 *   ConnectionResult (the server never considered us connected, so it never heartbeats; we time
 *   it out and its next offer reconnects us) and from a server restart.
 * - offers: a `Connect` from a server we are not connected to is put to the accept policy
 *   (default: refuse unless `supports` accepts every advertised format, since IO always runs on
 *   all streams at once); beyond `maxServers` the answer is Failure (busy). A Connect from a
 *   server we are connected to, with the same formats, is answered Ok again (its copy of our Ok
 *   was lost); with other formats it is ignored (the server restarted: our timeout ends the stale
 *   connection and the next offer is judged afresh).
 * - liveness: every decodable message from a connected server refreshes its deadline (audio
 *   included) except such a Connect with other formats; timeout after `timeoutMs` (600 ms);
 *   Heartbeat after `heartbeatMs` (100 ms) without sending anything.
 * - IO requests: `startIO` / `stopIO` send the request at once, then every `retransmitMs`
 *   (100 ms) while unanswered, at most `maxRequestSends` (10) sends, then `ioFailed` with
 *   reason `noAnswer` (100 ms after the last send). A Failure reply starts the next attempt after
 *   `failureBackoffMs[k]` (default 200, 400, 800, 1600 ms: 5 attempts), each with its own 10
 *   sends; after the last, `ioFailed` with `failureExhausted`. A Refusal reply ends the request
 *   at once (`ioFailed`, `refusal`), never retried. Stop is sent as STOP_IO (the reference client
 *   sends START_IO).
 *
 * Bad input never throws and never changes state; it is counted per peer or in
 * {@link EngineStats}. Espruino-safe; per audio message nothing is allocated beyond what the
 * decoder returns and the audio event's payload view.
 */

import type { StreamReceiver } from "../audio/receiver.js";
import type { Format, StreamFormats } from "../format.js";
import { type AudioHeader, Client, type ClientMessage, type IOState, type Outcome } from "../message.js";
import type { U64 } from "../u64.js";
import { type Codec, type CodecName, detectCodec } from "../wire/codec.js";
import { acceptSupported, sameFormats, supportAnything } from "./accept-policy.js";
import {
  AUDIO_DISCARDED,
  type AudioSinkFactory,
  acceptAudio,
  closeReceivers,
  openReceivers,
  writeAudioDatagram,
} from "./audio-path.js";
import { QUEUE_CAPACITY, resolveTiming, type Timing } from "./constants.js";
import { DiscoverySchedule, type DiscoveryTarget } from "./discovery.js";
import { EventQueue } from "./event-queue.js";
import type { ClientEvent, IoFailureReason } from "./events.js";
import { IoRequest, REQUEST_NO_ANSWER, REQUEST_SEND } from "./io-request.js";
import { findPeer, findPeerByKey, Peer, type PeerInfo, removePeer } from "./peer.js";
import {
  addReceiverCounters,
  copyPeerStats,
  type EngineStats,
  newEngineStats,
  type PeerStats,
} from "./peer-stats.js";
import { BoundedQueue } from "./queue.js";
import { clientTransmit, codecByName, type EndpointCodecs, peerKey, type Transmit } from "./transmit.js";

/** Where Discovery goes (re-exported from discovery.ts). */
export type { DiscoveryTarget } from "./discovery.js";

/** The client's view of IO with one server. */
export type IoPhase =
  /** No IO (initially, after Stop(Ok), after a failed start). */
  | "stopped"
  /** Start requested, no Start(Ok) yet. */
  | "starting"
  /** Start(Ok) received: audio flows both ways. */
  | "started"
  /** Stop requested, no Stop(Ok) yet: incoming audio still taken, none sent. */
  | "stopping";

/** Options of a {@link ClientEngine}. Only `codecs` is required. */
export interface ClientOptions {
  /** Codecs to understand; each server is answered in the codec it last used. */
  readonly codecs: EndpointCodecs;
  /** The codec of our Discovery (servers answer in it). Defaults to "postcard". */
  readonly codec?: CodecName;
  /** Where Discovery goes while discovering. Defaults to none (then only rediscovery). */
  readonly targets?: readonly DiscoveryTarget[];
  /**
   * Decides an offer from server `peer`: "ok" connects, "failure" (busy now, it will offer again)
   * or "refusal" (it will not offer again for 10 s). Defaults to refusing when `supports`
   * rejects any advertised format, else "ok".
   */
  readonly accept?: (formats: StreamFormats, peer: string) => Outcome;
  /** Used by the default `accept`: whether we can run a stream of this format. Defaults to all. */
  readonly supports?: (format: Format) => boolean;
  /** Most servers connected at once; offers beyond it are answered Failure. Defaults to 8. */
  readonly maxServers?: number;
  /** Sinks of the input streams' receivers, made at each Start(Ok). Defaults to none (count only). */
  readonly audioSink?: AudioSinkFactory;
  /** Emit an `audio` event per valid audio message. Defaults to true. */
  readonly audioEvents?: boolean;
  /** Timing overrides (tests). Defaults to DEFAULT_TIMING. */
  readonly timing?: Partial<Timing>;
}

/** A connected server, with the state of its IO and of our pending IO request. */
class ServerPeer extends Peer {
  phase: IoPhase = "stopped";
  /** The pending IO request. */
  readonly req: IoRequest = new IoRequest();

  constructor(
    address: string,
    port: number,
    key: string,
    codec: Codec,
    formats: StreamFormats,
    nowMs: number,
  ) {
    super(address, port, key, codec, formats, false, nowMs);
  }
}

/** The client side of the protocol for any number of servers (see the file comment). */
export class ClientEngine {
  /** The timing in use. */
  readonly timing: Timing;
  /** Counters for datagrams that belong to no connected server, and queue overflows. */
  readonly stats: EngineStats;
  /** Most servers connected at once. */
  readonly maxServers: number;

  private readonly codecs: EndpointCodecs;
  private readonly discoveryCodec: Codec;
  private readonly accept: (formats: StreamFormats, peer: string) => Outcome;
  private readonly audioSink: AudioSinkFactory | undefined;
  private readonly audioEvents: boolean;
  private readonly peers: ServerPeer[] = [];
  private readonly discovery: DiscoverySchedule;
  private readonly transmits: BoundedQueue<Transmit>;
  private readonly events: EventQueue<ClientEvent>;
  private readonly audioHeader: AudioHeader;
  private readonly audioMsg: ClientMessage;

  constructor(options: ClientOptions) {
    if (options.codecs === undefined || options.codecs.postcard === undefined) {
      throw new Error('"codecs" must hold at least the postcard codec');
    }
    this.codecs = options.codecs;
    const name = options.codec === undefined ? "postcard" : options.codec;
    const dc = codecByName(options.codecs, name);
    if (dc === undefined) throw new Error('"codec" ' + name + ' is not among "codecs"');
    this.discoveryCodec = dc;
    this.timing = resolveTiming(options.timing);
    this.stats = newEngineStats();
    const maxServers = options.maxServers === undefined ? 8 : options.maxServers;
    if (!(maxServers >= 1) || Math.floor(maxServers) !== maxServers) {
      throw new Error('"maxServers" must be a positive integer, got ' + maxServers);
    }
    this.maxServers = maxServers;
    this.accept =
      options.accept !== undefined
        ? options.accept
        : acceptSupported(options.supports === undefined ? supportAnything : options.supports);
    this.audioSink = options.audioSink;
    this.audioEvents = options.audioEvents !== false;
    this.discovery = new DiscoverySchedule(
      options.targets === undefined ? [] : options.targets,
      maxServers,
      this.timing,
      (address: string, port: number) =>
        this.queue(clientTransmit(this.discoveryCodec, Client.DISCOVERY, address, port)),
    );
    this.transmits = new BoundedQueue<Transmit>(QUEUE_CAPACITY);
    this.events = new EventQueue<ClientEvent>();
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
    const d = codec === undefined ? undefined : codec.server.decode(data, 0);
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
      if (msg.type === "connect") this.onOffer(msg.formats, codec, address, port, nowMs);
      else this.stats.fromUnknown++;
      return;
    }
    if (msg.type === "connect" && !sameFormats(msg.formats, peer.formats)) {
      peer.stats.unexpected++;
      return;
    }
    peer.codec = codec;
    peer.lastHeardMs = nowMs;
    switch (msg.type) {
      case "connect":
        this.send(peer, Client.CONNECTION_OK, nowMs);
        return;
      case "heartbeat":
        return;
      case "ioResult":
        this.onResult(peer, msg.state, msg.result, nowMs);
        return;
      case "audio":
        this.onAudio(peer, msg.header, data, d.end);
        return;
      case "disconnect":
        this.drop(peer, nowMs, false, "peer");
        return;
    }
  }

  /** Runs the timers due at `nowMs`: timeouts, heartbeats, request retransmissions, beacons. */
  handleTimeout(nowMs: number): void {
    const t = this.timing;
    for (let i = this.peers.length - 1; i >= 0; i--) {
      const p = this.peers[i] as ServerPeer;
      if (nowMs >= p.lastHeardMs + t.timeoutMs) {
        this.drop(p, nowMs, true, "peer");
        continue;
      }
      const due = p.req.due(nowMs, t);
      if (due === REQUEST_NO_ANSWER) this.failRequest(p, "noAnswer");
      else if (due === REQUEST_SEND) this.sendRequest(p, nowMs);
      if (nowMs >= p.lastSentMs + t.heartbeatMs) {
        if (p.sentSinceMark) {
          p.sentSinceMark = false;
          p.lastSentMs = nowMs;
        } else {
          this.send(p, Client.HEARTBEAT, nowMs);
        }
      }
    }
    this.discovery.handleTimeout(nowMs);
  }

  /** The earliest time (ms) `handleTimeout` has work, or Infinity. */
  nextDeadline(): number {
    const t = this.timing;
    let next = this.discovery.nextMs;
    for (let i = 0; i < this.peers.length; i++) {
      const p = this.peers[i] as ServerPeer;
      const timeout = p.lastHeardMs + t.timeoutMs;
      const heartbeat = p.lastSentMs + t.heartbeatMs;
      if (timeout < next) next = timeout;
      if (heartbeat < next) next = heartbeat;
      if (p.req.nextMs < next) next = p.req.nextMs;
    }
    return next;
  }

  /** The next control datagram to send, or undefined. A fresh array each. */
  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  /** The next event, or undefined. See {@link ClientEvent}; the audio event object is reused. */
  pollEvent(): ClientEvent | undefined {
    return this.events.poll();
  }

  /** Starts looking for servers: Discovery to every target now, then every `discoveryMs`. No-op when already discovering. */
  startDiscovery(nowMs: number): void {
    this.discovery.start(nowMs);
  }

  /** Stops sending Discovery to the targets (rediscovery of timed-out servers goes on). */
  stopDiscovery(): void {
    this.discovery.stop();
  }

  /** True between startDiscovery and stopDiscovery/close. */
  get isDiscovering(): boolean {
    return this.discovery.discovering;
  }

  /**
   * Asks server `peer` to start IO (all streams at once). No-op while starting or started.
   * Returns false when `peer` is not connected. Outcome: `ioStarted` or `ioFailed`.
   */
  startIO(peer: string, nowMs: number): boolean {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined) return false;
    if (p.phase === "starting" || p.phase === "started") return true;
    if (p.streaming) this.endStreaming(p);
    p.phase = "starting";
    this.beginRequest(p, "start", nowMs);
    return true;
  }

  /**
   * Asks server `peer` to stop IO; audio writes stop at once. Sent even when we think IO is
   * stopped (after a start that got no answer the server may be streaming). No-op while
   * stopping. Returns false when `peer` is not connected. Outcome: `ioStopped` or `ioFailed`.
   */
  stopIO(peer: string, nowMs: number): boolean {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined) return false;
    if (p.phase === "stopping") return true;
    p.phase = "stopping";
    this.beginRequest(p, "stop", nowMs);
    return true;
  }

  /**
   * Writes an audio datagram for server `peer` on its output stream `streamIdx` into
   * `out[outOffset...]`: the header in the codec that server speaks (byte_idx `byteIdx`, n_bytes =
   * `payload.length`), then a copy of `payload`. Returns the datagram's length, to be sent to the
   * server's address and port; returns 0 (nothing written) unless IO is `started` with that
   * server and the stream is one of its outputs. Throws when `out` is too small.
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
    if (p === undefined || p.phase !== "started" || !(streamIdx >= 0 && streamIdx < p.outFormats.length))
      return 0;
    const n = writeAudioDatagram(
      p.codec.client,
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

  /** Sends Disconnect to server `peer` and ends the connection (events follow). False when not connected. */
  disconnect(peer: string, nowMs: number): boolean {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined) return false;
    this.send(p, Client.DISCONNECT, nowMs);
    this.drop(p, nowMs, false, "us");
    return true;
  }

  /** Shuts down cleanly: discovery stopped, rediscovery forgotten, Disconnect to every server. */
  close(nowMs: number): void {
    this.discovery.close();
    while (this.peers.length > 0) this.disconnect((this.peers[0] as ServerPeer).key, nowMs);
  }

  /** The connected server `peer`, or undefined. Live: read it, do not keep it past a disconnect. */
  peer(peer: string): PeerInfo | undefined {
    return findPeerByKey(this.peers, peer);
  }

  /** The IO phase with server `peer`, or undefined when not connected. */
  ioPhase(peer: string): IoPhase | undefined {
    const p = findPeerByKey(this.peers, peer);
    return p === undefined ? undefined : p.phase;
  }

  /** Keys of the connected servers (a new array). */
  peerKeys(): string[] {
    const keys: string[] = [];
    for (let i = 0; i < this.peers.length; i++) keys.push((this.peers[i] as ServerPeer).key);
    return keys;
  }

  /** A snapshot of server `peer`'s counters including its running receivers, or undefined. Allocates. */
  peerStats(peer: string): PeerStats | undefined {
    const p = findPeerByKey(this.peers, peer);
    if (p === undefined) return undefined;
    const s = copyPeerStats(p.stats);
    for (let i = 0; i < p.receivers.length; i++) addReceiverCounters(s, p.receivers[i] as StreamReceiver);
    return s;
  }

  /** The live receiver of server `peer`'s input stream `streamIdx` while IO runs, or undefined. */
  receiver(peer: string, streamIdx: number): StreamReceiver | undefined {
    const p = findPeerByKey(this.peers, peer);
    return p === undefined ? undefined : p.receivers[streamIdx];
  }

  /** Servers connected now. */
  get connectedCount(): number {
    return this.peers.length;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private send(p: ServerPeer, msg: ClientMessage, nowMs: number): void {
    this.queue(clientTransmit(p.codec, msg, p.address, p.port));
    p.stats.datagramsOut++;
    p.lastSentMs = nowMs;
    p.sentSinceMark = false;
  }

  private queue(t: Transmit): void {
    this.transmits.push(t);
    this.stats.datagramsOut++;
    this.stats.transmitsDropped = this.transmits.dropped;
  }

  private emit(e: ClientEvent): void {
    this.events.push(e);
    this.stats.eventsDropped = this.events.dropped;
  }

  /** A Connect from a server we are not connected to: the policy decides, the answer goes back in its codec. */
  private onOffer(formats: StreamFormats, codec: Codec, address: string, port: number, nowMs: number): void {
    const key = peerKey(address, port);
    this.emit({ type: "offered", peer: key, formats: formats });
    const outcome = this.peers.length >= this.maxServers ? "failure" : this.accept(formats, key);
    if (outcome !== "ok") {
      const reply = outcome === "refusal" ? Client.CONNECTION_REFUSED : Client.CONNECTION_FAILED;
      this.queue(clientTransmit(codec, reply, address, port));
      this.emit({ type: "refusedByPolicy", peer: key, result: outcome, formats: formats });
      return;
    }
    const p = new ServerPeer(address, port, key, codec, formats, nowMs);
    this.peers.push(p);
    this.discovery.found(address, port);
    this.send(p, Client.CONNECTION_OK, nowMs);
    this.emit({ type: "connected", peer: key, formats: formats });
  }

  private beginRequest(p: ServerPeer, state: IOState, nowMs: number): void {
    p.req.begin(state, nowMs);
    this.sendRequest(p, nowMs);
  }

  private sendRequest(p: ServerPeer, nowMs: number): void {
    this.send(p, p.req.state === "start" ? Client.START_IO : Client.STOP_IO, nowMs);
    p.req.sent(nowMs, this.timing);
  }

  /** Ends the pending request with `ioFailed`; IO goes back to what it was (running or not). */
  private failRequest(p: ServerPeer, reason: IoFailureReason): void {
    const state = p.req.state as IOState;
    p.req.clear();
    p.phase = p.streaming ? "started" : "stopped";
    this.emit({ type: "ioFailed", peer: p.key, state: state, reason: reason });
  }

  /** An IOStateChangeResult. Replies to no pending request (duplicates of answered ones) are counted as unexpected. */
  private onResult(p: ServerPeer, state: IOState, result: Outcome, nowMs: number): void {
    if (!p.req.answers(state, result)) {
      p.stats.unexpected++;
      return;
    }
    if (result === "refusal") {
      this.failRequest(p, "refusal");
      return;
    }
    if (result === "failure") {
      if (!p.req.failed(nowMs, this.timing)) this.failRequest(p, "failureExhausted");
      return;
    }
    const rtt = p.req.rttMs(nowMs);
    p.req.clear();
    if (state === "start") {
      p.phase = "started";
      p.streaming = true;
      openReceivers(p, this.audioSink);
      this.emit({ type: "ioStarted", peer: p.key, rttMs: rtt });
    } else {
      p.phase = "stopped";
      if (p.streaming) this.endStreaming(p);
      this.emit({ type: "ioStopped", peer: p.key, rttMs: rtt });
    }
  }

  /** Stops taking audio from `p` and frees its receivers (their counters go to its stats). */
  private endStreaming(p: ServerPeer): void {
    p.streaming = false;
    closeReceivers(p);
  }

  private onAudio(p: ServerPeer, header: AudioHeader, data: Uint8Array, end: number): void {
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

  /**
   * Ends a connection: IO first (`ioStopped` if it ran; a pending request just ends with it),
   * the peer forgotten, then the event. A timed-out server is rediscovered.
   */
  private drop(p: ServerPeer, nowMs: number, timedOut: boolean, by: "peer" | "us"): void {
    if (p.streaming) {
      this.endStreaming(p);
      this.emit({ type: "ioStopped", peer: p.key, rttMs: undefined });
    }
    p.req.clear();
    p.phase = "stopped";
    removePeer(this.peers, p);
    if (!timedOut) {
      this.emit({ type: "disconnected", peer: p.key, by: by, stats: p.stats });
      return;
    }
    this.emit({ type: "timedOut", peer: p.key, stats: p.stats });
    this.discovery.lost(p.address, p.port, nowMs);
  }
}
