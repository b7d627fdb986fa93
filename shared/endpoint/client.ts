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
 * - audio: from a server while IO runs (until Stop(Ok)), to one receiver per input stream of the
 *   server: the built-in index check (counts only) unless the application injects full
 *   receivers (`receivers` option, e.g. stream-receivers.ts).
 *
 * Bad input never throws and never changes state; it is counted per peer or in `EngineStats`.
 * The parts shared with the server engine are in endpoint.ts. Espruino-safe; per audio message
 * nothing is allocated beyond what the decoder returns and the audio event's payload view.
 */

import type { Format, StreamFormats } from "../format.js";
import { Client, type ClientMessage, type IOState, type Outcome, type ServerMessage } from "../message.js";
import type { Codec, CodecName, MessageCodec } from "../wire/codec.js";
import { acceptSupported, sameFormats, supportAnything } from "./accept-policy.js";
import { QUEUE_CAPACITY } from "./constants.js";
import { DiscoverySchedule, type DiscoveryTarget } from "./discovery.js";
import { type CommonMessage, Endpoint, type EndpointOptions } from "./endpoint.js";
import type { ClientEvent, DisconnectedBy, IoFailureReason } from "./events.js";
import { IoRequest, REQUEST_NO_ANSWER, REQUEST_SEND } from "./io-request.js";
import { Peer } from "./peer.js";
import { codecByName, peerKey } from "./transmit.js";

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
export interface ClientOptions extends EndpointOptions {
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
}

/** A connected server, with the state of its IO and of our pending IO request. */
class ServerPeer extends Peer {
  phase: IoPhase = "stopped";
  /** The pending IO request. */
  readonly req: IoRequest = new IoRequest();

  constructor(address: string, port: number, codec: Codec, formats: StreamFormats, nowMs: number) {
    super(address, port, codec, formats, false, nowMs);
  }
}

/** The client side of the protocol for any number of servers (see the file comment). */
export class ClientEngine extends Endpoint<ServerMessage, ClientMessage, ClientEvent, ServerPeer> {
  /** Most servers connected at once. */
  readonly maxServers: number;

  private readonly discoveryCodec: Codec;
  private readonly accept: (formats: StreamFormats, peer: string) => Outcome;
  private readonly discovery: DiscoverySchedule;

  constructor(options: ClientOptions) {
    super(options);
    if (options.codecs === undefined || options.codecs.postcard === undefined) {
      throw new Error('"codecs" must hold at least the postcard codec');
    }
    const name = options.codec === undefined ? "postcard" : options.codec;
    const dc = codecByName(options.codecs, name);
    if (dc === undefined) throw new Error('"codec" ' + name + ' is not among "codecs"');
    this.discoveryCodec = dc;
    const maxServers = options.maxServers === undefined ? 8 : options.maxServers;
    if (!(maxServers >= 1) || Math.floor(maxServers) !== maxServers) {
      throw new Error('"maxServers" must be a positive integer, got ' + maxServers);
    }
    this.maxServers = maxServers;
    this.accept =
      options.accept !== undefined
        ? options.accept
        : acceptSupported(options.supports === undefined ? supportAnything : options.supports);
    const targets = options.targets === undefined ? [] : options.targets;
    // One beacon round queues one Discovery per target at once: room for all of them on top.
    if (options.queueCapacity === undefined) this.queueCapacity = QUEUE_CAPACITY + targets.length;
    this.discovery = new DiscoverySchedule(
      targets,
      maxServers,
      this.timing,
      (address: string, port: number) => this.transmit(this.discoveryCodec, Client.DISCOVERY, address, port),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Application interface (receive, pollTransmit, pollEvent, writeAudio, disconnect, peer,
  // peerKeys, peerStats and connectedCount are endpoint.ts's)

  /** Runs the timers due at `nowMs`: timeouts, request retransmissions, heartbeats, beacons. */
  override handleTimeout(nowMs: number): void {
    super.handleTimeout(nowMs);
    this.discovery.handleTimeout(nowMs);
  }

  /** The earliest time (ms) `handleTimeout` has work, or Infinity. */
  override nextDeadline(): number {
    let next = Math.min(super.nextDeadline(), this.discovery.nextMs);
    for (let i = 0; i < this.peers.length; i++)
      next = Math.min(next, (this.peers[i] as ServerPeer).req.nextMs);
    return next;
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
    const p = this.byKey(peer);
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
    const p = this.byKey(peer);
    if (p === undefined) return false;
    if (p.phase === "stopping") return true;
    p.phase = "stopping";
    this.beginRequest(p, "stop", nowMs);
    return true;
  }

  /** Shuts down cleanly: discovery stopped, rediscovery forgotten, Disconnect to every server. */
  override close(nowMs: number): void {
    this.discovery.close();
    super.close(nowMs);
  }

  /** The IO phase with server `peer`, or undefined when not connected. */
  ioPhase(peer: string): IoPhase | undefined {
    const p = this.byKey(peer);
    return p === undefined ? undefined : p.phase;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  protected decoder(codec: Codec): MessageCodec<ServerMessage> {
    return codec.server;
  }

  protected encoder(codec: Codec): MessageCodec<ClientMessage | CommonMessage> {
    return codec.client;
  }

  /** Audio goes to a server only once it answered Start(Ok), and not after stopIO. */
  protected sending(p: ServerPeer): boolean {
    return p.phase === "started";
  }

  /** A Connect from a server we are not connected to is an offer; anything else is ignored. */
  protected fromStranger(
    msg: ServerMessage,
    codec: Codec,
    address: string,
    port: number,
    nowMs: number,
  ): void {
    if (msg.type === "connect") this.onOffer(msg.formats, codec, address, port, nowMs);
    else this.stats.fromUnknown++;
  }

  protected onMessage(
    msg: ServerMessage,
    codec: Codec,
    p: ServerPeer,
    nowMs: number,
    data: Uint8Array,
    end: number,
  ): void {
    if (msg.type === "connect" && !sameFormats(msg.formats, p.formats)) {
      p.stats.unexpected++;
      return;
    }
    // audio counts only when it is valid in this state (onAudio decides; BEHAVIOUR.md, "Bad input")
    if (msg.type === "audio") {
      this.onAudio(p, msg.header, data, end, codec, nowMs);
      return;
    }
    p.codec = codec;
    p.lastHeardMs = nowMs;
    switch (msg.type) {
      case "connect":
        this.send(p, Client.CONNECTION_OK, nowMs);
        return;
      case "ioResult":
        this.onResult(p, msg.state, msg.result, nowMs);
        return;
      case "disconnect":
        this.drop(p, nowMs, false, "peer");
        return;
    }
  }

  /** The pending IO request: sent again or given up when due. */
  protected override peerTimers(p: ServerPeer, nowMs: number): void {
    const due = p.req.due(nowMs, this.timing);
    if (due === REQUEST_NO_ANSWER) this.failRequest(p, "noAnswer");
    else if (due === REQUEST_SEND) this.sendRequest(p, nowMs);
  }

  /** A Connect from a server we are not connected to: the policy decides, the answer goes back in its codec. */
  private onOffer(formats: StreamFormats, codec: Codec, address: string, port: number, nowMs: number): void {
    const key = peerKey(address, port);
    this.emit({ type: "offered", peer: key, formats: formats });
    const outcome = this.peers.length >= this.maxServers ? "failure" : this.accept(formats, key);
    if (outcome !== "ok") {
      const reply = outcome === "refusal" ? Client.CONNECTION_REFUSED : Client.CONNECTION_FAILED;
      this.transmit(codec, reply, address, port);
      this.emit({ type: "refusedByPolicy", peer: key, result: outcome, formats: formats });
      return;
    }
    const p = new ServerPeer(address, port, codec, formats, nowMs);
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
      this.openReceivers(p);
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
    this.closeReceivers(p);
  }

  /**
   * Ends a connection: IO first (`ioStopped` if it ran; a pending request just ends with it),
   * the peer forgotten, then the event. A timed-out server is rediscovered.
   */
  protected drop(p: ServerPeer, nowMs: number, timedOut: boolean, by: DisconnectedBy): void {
    if (p.streaming) {
      this.endStreaming(p);
      this.emit({ type: "ioStopped", peer: p.key, rttMs: undefined });
    }
    p.req.clear();
    p.phase = "stopped";
    this.forget(p, timedOut, by);
    if (timedOut) this.discovery.lost(p.address, p.port, nowMs);
  }
}
