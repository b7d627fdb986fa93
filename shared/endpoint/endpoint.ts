/**
 * What the server and client engines (server.ts, client.ts) share, written once: the connected
 * peers, the outgoing control queue, the event queue with its reused audio event, decoding of
 * incoming datagrams and the counting of bad ones, liveness (timeouts and heartbeats), the audio
 * path in both directions and the application's read-only accessors. Each engine adds its half
 * of the protocol through `fromStranger`, `onMessage` and `drop`.
 *
 * Queues are bounded ({@link QUEUE_CAPACITY} by default): when the application does not poll, the oldest
 * entry is dropped and counted, so memory cannot grow. The audio event is ONE preallocated object
 * that takes its place in the order of events; a new audio message arriving before the previous
 * audio event was polled moves it to the end (counted as dropped): its payload is a view into a
 * datagram the application may have reused by then anyway.
 *
 * Espruino-safe: per audio message nothing is allocated here beyond the event's payload view;
 * the receiver reads the payload in place, the outgoing header is written from a preallocated
 * message object.
 */

import type { AudioHeader } from "../message.js";
import type { U64 } from "../u64.js";
import { type Codec, detectCodec, encodeToBytes, type MessageCodec } from "../wire/codec.js";
import { QUEUE_CAPACITY, resolveTiming, type Timing } from "./constants.js";
import type { AudioEvent, DisconnectedBy, EndpointEvent } from "./events.js";
import type { Peer, PeerInfo } from "./peer.js";
import { addCounters, type EngineStats, newEngineStats, type PeerStats } from "./peer-stats.js";
import { IndexCheck, type ReceiverFactory } from "./receivers.js";
import { codecByName, type EndpointCodecs, type Transmit } from "./transmit.js";

/** Options of both engines. Only `codecs` is required. */
export interface EndpointOptions {
  /** Codecs to understand; each peer is answered in the codec it last used. */
  readonly codecs: EndpointCodecs;
  /**
   * Makes each stream's receiver at IO start: the full receiver, with its sink, is injected,
   * e.g. `streamReceivers` or `streamReceiversTo(sinks)` of stream-receivers.ts. Defaults to
   * the built-in {@link IndexCheck} (receivers.ts: counts only, no output).
   */
  readonly receivers?: ReceiverFactory;
  /** Timing overrides (tests). Defaults to DEFAULT_TIMING; a bad value throws. */
  readonly timing?: Partial<Timing>;
  /**
   * Entries the outgoing control queue and the event queue each hold before the oldest is
   * dropped (a positive integer). Defaults to QUEUE_CAPACITY (64); a client adds one per
   * Discovery target, so that one beacon round to many targets never pushes its own first
   * datagrams out (they would be dropped in every round, and those servers never found).
   */
  readonly queueCapacity?: number;
  /**
   * Takes every valid audio message synchronously, inside `receive`, instead of an audio event
   * in the queue (see {@link AudioSink}). Defaults to none: audio comes out as events. The
   * firmware sets it: on Espruino the queue's array operations cost more than the rest of the
   * audio path.
   */
  readonly onAudio?: AudioSink;
}

/**
 * Receives one valid audio message inside `receive`: from connected peer `peer` on stream
 * `streamIdx` (server engine: one of its output streams; client engine: one of the server's
 * input streams), first byte at stream index `byteIdx`, payload `data[start...]` (its length is
 * n_bytes, checked), `status` as the audio event's. `byteIdx` and `data` are valid only during
 * the call (they are reused and the datagram is the application's): copy what you keep. The
 * stream's receiver has had it already. It must not call `receive` or `handleTimeout`.
 */
export type AudioSink = (
  peer: PeerInfo,
  streamIdx: number,
  byteIdx: U64,
  data: Uint8Array,
  start: number,
  status: number,
) => void;

/** The messages both directions have with the same shape, which this module sends. */
export type CommonMessage =
  | { readonly type: "heartbeat" }
  | { readonly type: "disconnect" }
  | { readonly type: "audio"; readonly header: AudioHeader };

const HEARTBEAT: CommonMessage = { type: "heartbeat" };
/** Disconnect, in either direction. */
export const DISCONNECT: CommonMessage = { type: "disconnect" };

/** The audio shortcut of a codec without one: nothing is its audio header. */
function noAudio(): number {
  return -1;
}

/** Appends `item` to `queue`, dropping the oldest entry beyond `capacity`; returns the entries dropped (0 or 1). */
function pushBounded<T>(queue: T[], item: T, capacity: number): number {
  queue.push(item);
  if (queue.length <= capacity) return 0;
  queue.shift();
  return 1;
}

/**
 * The base of both engines: `In` is the message type received, `Out` the one sent, `Ev` the
 * engine's events, `P` its peer record.
 */
export abstract class Endpoint<In, Out, Ev, P extends Peer> {
  // Fields are assigned in the constructor in the order the audio path reads them: Espruino
  // finds a property by walking the object's list (own fields, then the prototypes' methods).

  /** Counters for datagrams that belong to no connected peer, and queue overflows. */
  readonly stats: EngineStats;
  /** The peer of the last datagram (most datagrams come from the one streaming peer). */
  private last: P | undefined;
  /** The audio shortcut's reader of what peers send us (postcard's; -1 for all when it has none). */
  private readonly readAudioIn: (buf: Uint8Array, offset: number, into: AudioHeader) => number;
  /** The header the audio shortcut decodes into (one, reused). */
  private readonly inHeader: AudioHeader;
  private readonly audioSink: AudioSink | undefined;
  /** The codecs given. */
  protected readonly codecs: EndpointCodecs;
  /** The connected peers. */
  protected readonly peers: P[];
  /** The loopback turnaround of what we send in postcard, if it has one. */
  private readonly retagOut: ((buf: Uint8Array, offset: number) => void) | undefined;
  /** The timing in use. */
  readonly timing: Timing;
  /** Capacity of each queue (see {@link EndpointOptions.queueCapacity}). */
  protected queueCapacity: number;
  private readonly makeReceiver: ReceiverFactory | undefined;
  private readonly transmits: Transmit[];
  private readonly events: (Ev | EndpointEvent)[];
  private readonly audio: AudioEvent;
  /** True while {@link audio} waits in the event queue (no search of the queue for it). */
  private audioQueued: boolean;
  /** The time of the last `receive` or `handleTimeout` (ms): what audio written without a time is stamped with. */
  private latestMs: number;
  private readonly audioMsg: { readonly type: "audio"; readonly header: AudioHeader };

  constructor(options: EndpointOptions) {
    const cap = options.queueCapacity === undefined ? QUEUE_CAPACITY : options.queueCapacity;
    if (!(cap >= 1) || Math.floor(cap) !== cap) {
      throw new Error('"queueCapacity" must be a positive integer, got ' + cap);
    }
    this.stats = newEngineStats();
    this.last = undefined;
    const read = this.decoder(options.codecs.postcard).readAudio;
    this.readAudioIn = read || noAudio;
    this.inHeader = { streamIdx: 0, byteIdx: { hi: 0, lo: 0 }, nBytes: 0 };
    this.audioSink = options.onAudio;
    this.codecs = options.codecs;
    this.peers = [];
    this.retagOut = this.encoder(options.codecs.postcard).retagAudio;
    this.timing = resolveTiming(options.timing);
    this.queueCapacity = cap;
    this.makeReceiver = options.receivers;
    this.transmits = [];
    this.events = [];
    this.audioQueued = false;
    this.latestMs = 0;
    const zero: U64 = { hi: 0, lo: 0 };
    this.audio = {
      type: "audio",
      peer: "",
      streamIdx: 0,
      byteIdx: zero,
      payload: new Uint8Array(0),
      status: 0,
    };
    this.audioMsg = { type: "audio", header: { streamIdx: 0, byteIdx: zero, nBytes: 0 } };
  }

  /** The codec half that decodes what peers send us. */
  protected abstract decoder(codec: Codec): MessageCodec<In>;
  /** The codec half that encodes what we send. */
  protected abstract encoder(codec: Codec): MessageCodec<Out | CommonMessage>;
  /** True when we may write audio to `p` now. */
  protected abstract sending(p: P): boolean;
  /** A decodable message from `address:port`, which is not a connected peer. */
  protected abstract fromStranger(msg: In, codec: Codec, address: string, port: number, nowMs: number): void;
  /**
   * A decodable message from connected peer `p` (its `datagramsIn` counted already). An audio
   * message's payload is `data[end...]`.
   */
  protected abstract onMessage(
    msg: In,
    codec: Codec,
    p: P,
    nowMs: number,
    data: Uint8Array,
    end: number,
  ): void;
  /**
   * Ends the connection with `p` (IO stopped first if it runs, then {@link forget}): it timed
   * out, or it sent Disconnect (`by` "peer"), or we did (`by` "us").
   */
  protected abstract drop(p: P, nowMs: number, timedOut: boolean, by: DisconnectedBy): void;

  // -------------------------------------------------------------------------------------------
  // Application interface

  /**
   * Handles one datagram from `address:port` received at `nowMs`. Never throws (unless an
   * application callback or sink does); bad or out-of-place datagrams are counted and ignored.
   * An audio event's payload is a view into `data`, valid until the next call. Returns false
   * when it certainly queued nothing (no transmit, no event: an undecodable datagram, or audio
   * that went to the sink), so a caller on a slow interpreter may skip polling; true otherwise.
   */
  receive(data: Uint8Array, address: string, port: number, nowMs: number): boolean {
    this.latestMs = nowMs;
    const st = this.stats;
    st.datagramsIn++;
    let p = this.last;
    if (p === undefined || p.port !== port || p.address !== address) {
      p = this.find(address, port);
      this.last = p;
    }
    if (p !== undefined) {
      p.stats.datagramsIn++;
      // The audio shortcut: a postcard audio header read in place, no message built.
      const h = this.inHeader;
      const start = this.readAudioIn(data, 0, h);
      if (start >= 0) return this.onAudio(p, h, data, start, this.codecs.postcard, nowMs);
    }
    const codec = codecByName(this.codecs, detectCodec(data, 0));
    const d = codec === undefined ? undefined : this.decoder(codec).decode(data, 0);
    if (codec === undefined || d === undefined || !d.ok) {
      if (p !== undefined) p.stats.bad++;
      else {
        st.fromUnknown++;
        st.badFromUnknown++;
      }
      return false;
    }
    if (p === undefined) this.fromStranger(d.message, codec, address, port, nowMs);
    else this.onMessage(d.message, codec, p, nowMs, data, d.end);
    return true;
  }

  /**
   * Runs the timers due at `nowMs`: per peer a timeout after `timeoutMs` of silence (the peer is
   * dropped), else the engine's own timers, then a Heartbeat after `heartbeatMs` without sending
   * anything. Call it once `nowMs >= nextDeadline()`.
   */
  handleTimeout(nowMs: number): void {
    this.latestMs = nowMs;
    const t = this.timing;
    for (let i = this.peers.length - 1; i >= 0; i--) {
      const p = this.peers[i] as P;
      if (nowMs >= p.lastHeardMs + t.timeoutMs) {
        this.drop(p, nowMs, true, "peer");
        continue;
      }
      this.peerTimers(p, nowMs);
      if (nowMs >= p.lastSentMs + t.heartbeatMs) this.send(p, HEARTBEAT, nowMs);
    }
  }

  /** The earliest time (ms) `handleTimeout` has work, or Infinity. */
  nextDeadline(): number {
    const t = this.timing;
    let next = Infinity;
    for (const p of this.peers)
      next = Math.min(next, p.lastHeardMs + t.timeoutMs, p.lastSentMs + t.heartbeatMs);
    return next;
  }

  /** The next control datagram to send, or undefined. A fresh array each: keep it as long as you need. */
  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  /** The next event, or undefined. The audio event object is reused (see {@link AudioEvent}). */
  pollEvent(): Ev | EndpointEvent | undefined {
    const e = this.events.shift();
    if (e !== undefined && (e as { type: string }).type === "audio") this.audioQueued = false;
    return e;
  }

  /**
   * Writes an audio datagram for `peer` on stream `streamIdx` (one we send on: the server's
   * input streams in a server engine, its output streams in a client engine) into
   * `out[outOffset...]`: the header in the codec that peer speaks (byte_idx
   * `byteIdx`, n_bytes = `payload.length`), then a copy of `payload`. Returns the datagram's
   * length, to be sent to the peer's address and port; returns 0 (nothing written) when the peer
   * is not connected, IO does not run with it, or the stream index is out of range: a stop may
   * always race the application. Throws when `out` is too small (a programming error). Keep
   * datagrams within 1472 bytes (shared/audio/sender.ts chooses payload sizes that do).
   * `nowMs`: when it is sent, so that the next Heartbeat is due `heartbeatMs` after it (defaults
   * to the time of the last `receive` or `handleTimeout`, which is never later than now: a
   * Heartbeat may then come early, never late).
   */
  writeAudio(
    peer: string | PeerInfo,
    streamIdx: number,
    byteIdx: U64,
    payload: Uint8Array,
    out: Uint8Array,
    outOffset: number,
    nowMs?: number,
  ): number {
    const p = typeof peer === "string" ? this.byKey(peer) : (peer as P);
    if (p === undefined || !this.sending(p) || p.outFormats[streamIdx] === undefined) return 0;
    const n = payload.length;
    const codec = this.encoder(p.codec);
    // the shortcut (postcard): a fixed 17-byte header written in place, no message built
    const write = codec.writeAudio;
    let headerLength = 17;
    if (write === undefined) {
      const h = this.audioMsg.header;
      h.streamIdx = streamIdx;
      h.byteIdx = byteIdx;
      h.nBytes = n;
      headerLength = codec.encodingLength(this.audioMsg);
    }
    if (!(outOffset >= 0 && outOffset + headerLength + n <= out.length))
      throw new Error("writeAudio: does not fit");
    if (write === undefined) codec.encode(this.audioMsg, out, outOffset);
    else write(out, outOffset, streamIdx, byteIdx, n);
    out.set(payload, outOffset + headerLength);
    const ps = p.stats;
    ps.audioOut++;
    ps.datagramsOut++;
    this.stats.datagramsOut++;
    p.lastSentMs = nowMs === undefined ? this.latestMs : nowMs;
    return headerLength + n;
  }

  /**
   * Turns a valid audio message just received from `peer` (the datagram `data`, payload from
   * `start`, as an {@link AudioSink} gets it) into ours on stream `streamIdx` with the same byte
   * index and payload, IN PLACE, when the peer's codec can turn its header around (postcard:
   * only the tag changes; `streamIdx` must be the stream it came on); counts it as sent and
   * returns true. False when it cannot (msgpack, not sending, no such stream): use
   * {@link writeAudio} then. The loopback
   * reflector's shortcut: no copy of the payload. Call it only from the sink, before `data` is
   * reused.
   */
  echoAudio(peer: PeerInfo, streamIdx: number, data: Uint8Array, start: number): boolean {
    const p = peer as P;
    const retag = this.retagOut;
    if (
      !retag ||
      start !== 17 ||
      p.codec.name !== "postcard" ||
      streamIdx !== this.inHeader.streamIdx ||
      !this.sending(p) ||
      p.outFormats[streamIdx] === undefined
    ) {
      return false;
    }
    retag(data, 0);
    const ps = p.stats;
    ps.audioOut++;
    ps.datagramsOut++;
    this.stats.datagramsOut++;
    p.lastSentMs = this.latestMs;
    return true;
  }

  /** Sends Disconnect to `peer` and ends the connection (events follow). Returns false when it is not connected. */
  disconnect(peer: string, nowMs: number): boolean {
    const p = this.byKey(peer);
    if (p === undefined) return false;
    this.send(p, DISCONNECT, nowMs);
    this.drop(p, nowMs, false, "us");
    return true;
  }

  /** Shuts down cleanly: Disconnect to every connected peer, each connection ended. */
  close(nowMs: number): void {
    while (this.peers.length > 0) this.disconnect((this.peers[0] as P).key, nowMs);
  }

  /** The connected peer `peer`, or undefined. The object is live: read it, do not keep it past a disconnect. */
  peer(peer: string): PeerInfo | undefined {
    return this.byKey(peer);
  }

  /** Keys of the connected peers (a new array). */
  peerKeys(): string[] {
    return this.peers.map((p: P) => p.key);
  }

  /** A snapshot of `peer`'s counters including its running receivers, or undefined. Allocates. */
  peerStats(peer: string): PeerStats | undefined {
    const p = this.byKey(peer);
    if (p === undefined) return undefined;
    const s: PeerStats = Object.assign({}, p.stats);
    for (const r of p.receivers) addCounters(s, r);
    return s;
  }

  /** Peers connected now. */
  get connectedCount(): number {
    return this.peers.length;
  }

  // -------------------------------------------------------------------------------------------
  // For the engines

  /** The engine's own timers of connected peer `p` at `nowMs` (none by default). */
  protected peerTimers(_p: P, _nowMs: number): void {
    // no timers of its own
  }

  /** The connected peer at `address:port`, or undefined; compares fields, builds no string. */
  protected find(address: string, port: number): P | undefined {
    const peers = this.peers;
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i] as P;
      if (p.port === port && p.address === address) return p;
    }
    return undefined;
  }

  /** The connected peer whose key is `key`, or undefined. */
  protected byKey(key: string): P | undefined {
    for (const p of this.peers) if (p.key === key) return p;
    return undefined;
  }

  /** Queues `msg` to `address:port` in `codec`, as a fresh datagram. */
  protected transmit(codec: Codec, msg: Out | CommonMessage, address: string, port: number): void {
    const data = encodeToBytes(this.encoder(codec), msg);
    this.stats.transmitsDropped += pushBounded(
      this.transmits,
      { address: address, port: port, data: data },
      this.queueCapacity,
    );
    this.stats.datagramsOut++;
  }

  /** Queues `msg` to connected peer `p` in its codec; sending counts as activity (no heartbeat due). */
  protected send(p: P, msg: Out | CommonMessage, nowMs: number): void {
    this.transmit(p.codec, msg, p.address, p.port);
    p.stats.datagramsOut++;
    p.lastSentMs = nowMs;
  }

  /** Queues an event. */
  protected emit(e: Ev | EndpointEvent): void {
    this.stats.eventsDropped += pushBounded(this.events, e, this.queueCapacity);
  }

  /** Creates one receiver per stream `p` sends on (IO start: position 0). */
  protected openReceivers(p: P): void {
    const make = this.makeReceiver;
    let i = 0;
    for (const f of p.inFormats)
      p.receivers.push(make === undefined ? new IndexCheck() : make(p.key, i++, f));
  }

  /** Frees `p`'s receivers (IO stop), adding their counters to its stats. */
  protected closeReceivers(p: P): void {
    for (const r of p.receivers) addCounters(p.stats, r);
    p.receivers = [];
  }

  /**
   * An audio message from connected peer `p`, payload `data[end...]`: handed to the stream's
   * receiver, then to the sink or an audio event (returns true when it queued one). Discarded
   * and counted in `discardedAudio` when IO does not run (no receivers), the stream index is out
   * of range, or n_bytes is not the payload length.
   */
  protected onAudio(
    p: P,
    header: AudioHeader,
    data: Uint8Array,
    end: number,
    codec: Codec,
    nowMs: number,
  ): boolean {
    const r = p.receivers[header.streamIdx];
    if (r === undefined || header.nBytes !== data.length - end) {
      p.stats.discardedAudio++;
      return false;
    }
    // valid in this state: only now does it count as liveness and choose the reply codec
    p.codec = codec;
    p.lastHeardMs = nowMs;
    p.stats.audioIn++;
    const status = r.receiveFrom(header.byteIdx, data, end, header.nBytes);
    const sink = this.audioSink;
    if (sink !== undefined) {
      sink(p, header.streamIdx, header.byteIdx, data, end, status);
      return false;
    }
    const e = this.audio;
    e.peer = p.key;
    e.streamIdx = header.streamIdx;
    e.byteIdx = header.byteIdx;
    e.payload = data.subarray(end);
    e.status = status;
    if (this.audioQueued) {
      // the previous audio event was not polled: it moves to the end (counted as dropped)
      const q = this.events;
      for (let i = 0; i < q.length; i++) {
        if ((q[i] as { type: string }).type === "audio") {
          q.splice(i, 1);
          this.stats.eventsDropped++;
          break;
        }
      }
    }
    this.audioQueued = true;
    this.emit(e);
    return true;
  }

  /** Forgets `p` (its IO already stopped) and reports the end of the connection. */
  protected forget(p: P, timedOut: boolean, by: DisconnectedBy): void {
    this.peers.splice(this.peers.indexOf(p), 1);
    this.last = undefined;
    this.emit(
      timedOut
        ? { type: "timedOut", peer: p.key, stats: p.stats }
        : { type: "disconnected", peer: p.key, by: by, stats: p.stats },
    );
  }
}
