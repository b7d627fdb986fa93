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
 * Audio from a streaming client goes to one receiver per output stream: the built-in index check
 * (counts only, endpoint.ts) unless the application injects full receivers (`receivers` option).
 *
 * Bad input never throws and never changes state (BEHAVIOUR.md "Bad input"): it is counted in
 * the peer's `PeerStats` or, for addresses that are not connected, in `EngineStats` (peer-stats.ts).
 *
 * Espruino-safe; per audio message nothing is allocated beyond what the decoder returns and the
 * audio event's payload view.
 */

import type { Format, StreamFormats } from "../format.js";
import { formatProblem } from "../format.js";
import type { ClientMessage, IOState, Outcome, ServerMessage } from "../message.js";
import type { Codec, MessageCodec } from "../wire/codec.js";
import { AddressTable } from "./address-table.js";
import { DISCONNECT, Endpoint, type EndpointOptions } from "./endpoint.js";
import type { DisconnectedBy, ServerEvent } from "./events.js";
import { Peer } from "./peer.js";
import { peerKey } from "./transmit.js";

/** Options of a {@link ServerEngine}. Only `formats` and `codecs` are required. */
export interface ServerOptions extends EndpointOptions {
  /** What the server advertises in Connect: fixed for the engine's life. Validated (throws on a bad one). */
  readonly formats: StreamFormats;
  /** Most clients connected at once (a positive integer); no offers while full. Defaults to 4. */
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
  /** Offers remembered (for `offerIntervalMs` and `offerValidityMs`; a positive integer). Defaults to 8. */
  readonly maxOffers?: number;
  /** Refusals remembered (for `refusalMemoryMs`; a positive integer). Defaults to 8. */
  readonly maxRefusals?: number;
}

/** Checks the advertised formats; throws naming the first bad one (streams numbered inputs first). */
function checkFormats(fs: StreamFormats): void {
  const all = fs.inputs.concat(fs.outputs);
  for (let i = 0; i < all.length; i++) {
    const p = formatProblem(all[i] as Format);
    if (p !== undefined) throw new Error('"formats" ' + i + " (inputs first): " + p);
  }
}

/** `v`, or `dflt` when it is undefined. */
function orDefault(v: number | undefined, dflt: number): number {
  return v === undefined ? dflt : v;
}

/** The server side of the protocol for any number of clients (see the file comment). */
export class ServerEngine extends Endpoint<ClientMessage, ServerMessage, ServerEvent, Peer> {
  /** The advertised formats. */
  readonly formats: StreamFormats;
  /** Most clients connected at once. */
  readonly maxClients: number;
  /** Most clients streaming at once. */
  readonly maxStreamingClients: number;

  private readonly onStartIO: ((peer: string, nowMs: number) => Outcome) | undefined;
  private readonly onStopIO: ((peer: string, nowMs: number) => void) | undefined;
  private readonly offers: AddressTable;
  private readonly refusals: AddressTable;
  private readonly connectMsg: ServerMessage;
  private streaming: number;

  constructor(options: ServerOptions) {
    super(options);
    checkFormats(options.formats);
    this.formats = options.formats;
    this.maxClients = orDefault(options.maxClients, 4);
    this.maxStreamingClients = orDefault(options.maxStreamingClients, 1);
    this.onStartIO = options.onStartIO;
    this.onStopIO = options.onStopIO;
    this.offers = new AddressTable(orDefault(options.maxOffers, 8));
    this.refusals = new AddressTable(orDefault(options.maxRefusals, 8));
    this.connectMsg = { type: "connect", formats: options.formats };
    this.streaming = 0;
  }

  /** Clients streaming now. */
  get streamingCount(): number {
    return this.streaming;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  protected decoder(codec: Codec): MessageCodec<ClientMessage> {
    return codec.client;
  }

  protected encoder(codec: Codec): MessageCodec<ServerMessage> {
    return codec.server;
  }

  protected sending(p: Peer): boolean {
    return p.streaming;
  }

  protected onMessage(
    msg: ClientMessage,
    codec: Codec,
    p: Peer,
    nowMs: number,
    data: Uint8Array,
    end: number,
  ): void {
    // Only a message valid in this state refreshes liveness and picks the reply codec
    // (BEHAVIOUR.md, "Bad input"): Discovery never does; audio only when it is valid (onAudio);
    // a refusing ConnectionResult from a connected client makes no sense.
    if (msg.type === "discovery") return;
    if (msg.type === "audio") {
      this.onAudio(p, msg.header, data, end, codec, nowMs);
      return;
    }
    if (msg.type === "connectionResult" && msg.result !== "ok") {
      p.stats.unexpected++;
      return;
    }
    p.codec = codec;
    p.lastHeardMs = nowMs;
    if (msg.type === "ioRequest") this.onRequest(p, msg.state, nowMs);
    else if (msg.type === "disconnect") this.drop(p, nowMs, false, "peer");
  }

  /**
   * A decodable message from an address that is not connected: Discovery gets an offer when
   * allowed, a ConnectionResult counts when it answers an offer; anything else is ignored.
   */
  protected fromStranger(
    msg: ClientMessage,
    codec: Codec,
    address: string,
    port: number,
    nowMs: number,
  ): void {
    const t = this.timing;
    const st = this.stats;
    const full = this.peers.length >= this.maxClients;
    const offer = this.offers.find(address, port);
    if (msg.type === "discovery") {
      const refused = this.refusals.find(address, port);
      if (
        full ||
        (refused !== undefined && nowMs - refused.atMs < t.refusalMemoryMs) ||
        (offer !== undefined && nowMs - offer.atMs < t.offerIntervalMs)
      ) {
        st.offersWithheld++;
      } else {
        this.offers.put(address, port, nowMs);
        this.transmit(codec, this.connectMsg, address, port);
      }
      return;
    }
    if (msg.type !== "connectionResult" || offer === undefined || nowMs - offer.atMs > t.offerValidityMs) {
      st.fromUnknown++;
      return;
    }
    offer.port = -1; // the offer is used up
    if (msg.result !== "ok") {
      if (msg.result === "refusal") this.refusals.put(address, port, nowMs);
      this.emit({ type: "declined", peer: peerKey(address, port), result: msg.result });
    } else if (full) {
      this.transmit(codec, DISCONNECT, address, port);
      st.fromUnknown++;
    } else {
      const p = new Peer(address, port, codec, this.formats, true, nowMs);
      this.peers.push(p);
      this.emit({ type: "connected", peer: p.key, codec: codec.name });
    }
  }

  /**
   * A Start or Stop request from a connected client, answered with its state and the outcome.
   * Both are idempotent: Start while streaming and Stop while stopped are answered Ok again.
   */
  private onRequest(p: Peer, state: IOState, nowMs: number): void {
    let result: Outcome = "ok";
    if (state === "stop") {
      if (p.streaming) this.stopIO(p, nowMs);
    } else if (!p.streaming) {
      result =
        this.streaming >= this.maxStreamingClients
          ? "failure"
          : this.onStartIO === undefined
            ? "ok"
            : this.onStartIO(p.key, nowMs);
      if (result === "ok") {
        p.streaming = true;
        this.streaming++;
        this.openReceivers(p);
        this.emit({ type: "ioStarted", peer: p.key });
      }
    }
    this.send(p, { type: "ioResult", state: state, result: result }, nowMs);
  }

  /** Stops a streaming client's IO: the application first, then receivers freed, then the event. */
  private stopIO(p: Peer, nowMs: number): void {
    if (this.onStopIO !== undefined) this.onStopIO(p.key, nowMs);
    p.streaming = false;
    this.streaming--;
    this.closeReceivers(p);
    this.emit({ type: "ioStopped", peer: p.key });
  }

  protected drop(p: Peer, nowMs: number, timedOut: boolean, by: DisconnectedBy): void {
    if (p.streaming) this.stopIO(p, nowMs);
    this.forget(p, timedOut, by);
  }
}
