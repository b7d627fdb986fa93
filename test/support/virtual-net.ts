/**
 * A virtual-clock network for the sans-IO engines (smoltcp's fault-injecting loopback, in test
 * form). Nodes are engines at an address and port; datagrams they emit travel through an
 * in-memory network with optional seeded loss, duplication, reordering and delay; time advances
 * event by event (the next delivery, scheduled action or engine deadline), so nothing waits and
 * every time is exact.
 *
 * Each engine call is followed by draining its transmits (onto the network, copied as a socket
 * would) and its events (into the node's log and its `onEvent` handler, where a test plays the
 * application). Ties at one instant: deliveries first (in send order), then actions, then timers.
 */
import type { ClientMessage, ServerMessage } from "../../shared/message.js";
import type { Codec } from "../../shared/wire/codec.js";
import { detectCodec } from "../../shared/wire/codec.js";
import { mulberry32 } from "./prng.js";

/** What the harness needs of an engine (both ServerEngine and ClientEngine fit). */
export interface SansIoEngine<E> {
  receive(data: Uint8Array, address: string, port: number, nowMs: number): void;
  handleTimeout(nowMs: number): void;
  nextDeadline(): number;
  pollTransmit(): { address: string; port: number; data: Uint8Array } | undefined;
  pollEvent(): E | undefined;
}

/** Fault model of the network. */
export interface NetOptions {
  /** PRNG seed. Defaults to 1. */
  seed: number;
  /** Probability that a datagram copy is lost. Defaults to 0. */
  loss: number;
  /** Probability that a datagram is delivered twice. Defaults to 0. */
  duplicate: number;
  /** Probability that a copy gets an extra delay in [0, reorderMs) (so later ones overtake it). Defaults to 0. */
  reorder: number;
  /** Largest extra delay of a reordered copy (ms). Defaults to 20. */
  reorderMs: number;
  /** One-way delay of every datagram (ms). Defaults to 0. */
  latencyMs: number;
  /** Uniform extra delay in [0, jitterMs) (ms). Defaults to 0. */
  jitterMs: number;
  /** The broadcast address: delivered to every other node on the destination port. Defaults to 127.255.255.255. */
  broadcast: string;
}

/** One logged event with its time. */
export interface LoggedEvent<E> {
  t: number;
  event: E;
}

/** One datagram a node sent, with what became of each copy. */
export interface SentRecord {
  t: number;
  from: string;
  to: string;
  data: Uint8Array;
  /** Copies delivered (0 when lost, filtered or unroutable; 2 when duplicated; n for a broadcast). */
  copies: number;
}

/** A datagram a node received. */
export interface ReceivedRecord {
  t: number;
  from: string;
  data: Uint8Array;
}

/** A network endpoint: an engine at `address:port`. */
export class NetNode<E extends { type: string }> {
  readonly key: string;
  readonly events: LoggedEvent<E>[] = [];
  readonly sent: SentRecord[] = [];
  readonly received: ReceivedRecord[] = [];
  /** The application: called for each event after it is logged (a method, so that any node fits `NetNode<{ type: string }>`). */
  onEvent?(e: E, node: NetNode<E>, net: VirtualNet): void;
  /** Keep copies of audio events in `events` (payload copied). Defaults to true. */
  logAudio = true;
  /** Keep received datagrams in `received`. Defaults to true. */
  logReceived = true;
  /** Keep sent datagrams in `sent`. Defaults to true. */
  logSent = true;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly side: "client" | "server",
    readonly engine: SansIoEngine<E>,
  ) {
    this.key = address + ":" + port;
  }

  /** Events of one type, with their times. */
  eventsOf<T extends E["type"]>(type: T): LoggedEvent<Extract<E, { type: T }>>[] {
    return this.events.filter((l) => l.event.type === type) as LoggedEvent<Extract<E, { type: T }>>[];
  }
}

interface InFlight {
  at: number;
  seq: number;
  from: NetNode<{ type: string }> | undefined;
  fromAddress: string;
  fromPort: number;
  to: NetNode<{ type: string }>;
  data: Uint8Array;
}

interface Action {
  at: number;
  seq: number;
  fn: () => void;
}

/** A datagram about to travel, shown to the filter. */
export interface Transit {
  t: number;
  from: string;
  to: string;
  data: Uint8Array;
}

/** The virtual network and clock. */
export class VirtualNet {
  /** Virtual time (ms). */
  now = 0;
  readonly options: NetOptions;
  readonly nodes: NetNode<{ type: string }>[] = [];
  /** Return false to drop a datagram copy (deterministic, targeted loss); applied before random loss. */
  filter: ((d: Transit) => boolean) | undefined = undefined;
  /** Totals: copies sent, lost at random, filtered, duplicated, delivered, unroutable. */
  readonly counts = { sent: 0, lost: 0, filtered: 0, duplicated: 0, delivered: 0, unroutable: 0 };
  /** Loop bound per run: an engine whose deadline never moves would otherwise spin. */
  maxSteps = 5_000_000;

  private readonly rng: () => number;
  private inFlight: InFlight[] = [];
  private actions: Action[] = [];
  private seq = 0;

  constructor(options?: Partial<NetOptions>) {
    const o = options ?? {};
    this.options = {
      seed: o.seed ?? 1,
      loss: o.loss ?? 0,
      duplicate: o.duplicate ?? 0,
      reorder: o.reorder ?? 0,
      reorderMs: o.reorderMs ?? 20,
      latencyMs: o.latencyMs ?? 0,
      jitterMs: o.jitterMs ?? 0,
      broadcast: o.broadcast ?? "127.255.255.255",
    };
    this.rng = mulberry32(this.options.seed);
  }

  /** Adds an engine at `address:port`. */
  add<E extends { type: string }>(
    address: string,
    port: number,
    side: "client" | "server",
    engine: SansIoEngine<E>,
  ): NetNode<E> {
    const n = new NetNode<E>(address, port, side, engine);
    this.nodes.push(n);
    return n;
  }

  /** The node at `key` ("address:port"). */
  node(key: string): NetNode<{ type: string }> | undefined {
    return this.nodes.find((n) => n.key === key);
  }

  /** Runs `fn` at virtual time `t` (after deliveries due at `t`, before timers due at `t`). */
  at(t: number, fn: () => void): void {
    const a = { at: t, seq: this.seq++, fn };
    let i = this.actions.length;
    while (i > 0 && (this.actions[i - 1] as Action).at > t) i--;
    this.actions.splice(i, 0, a);
  }

  /** Calls `fn(node)` now on a node's engine, then drains it (the application acting outside an event). */
  act<E extends { type: string }>(node: NetNode<E>, fn: (engine: SansIoEngine<E>) => void): void {
    fn(node.engine);
    this.drain(node);
  }

  /**
   * Sends raw bytes from `fromAddress:fromPort` (a node or not) to `to` through the network's
   * fault model, as if sent now.
   */
  inject(
    fromAddress: string,
    fromPort: number,
    to: NetNode<{ type: string }> | string,
    data: Uint8Array,
  ): void {
    const from = this.nodes.find((n) => n.address === fromAddress && n.port === fromPort);
    const dest = typeof to === "string" ? to : to.key;
    const i = dest.lastIndexOf(":");
    this.route(from, fromAddress, fromPort, dest.slice(0, i), Number(dest.slice(i + 1)), data);
  }

  /** Hands `data` to `to` right now, bypassing the network (no loss, no delay), then drains it. */
  deliverNow(fromAddress: string, fromPort: number, to: NetNode<{ type: string }>, data: Uint8Array): void {
    this.receiveAt(to, fromAddress, fromPort, data);
  }

  /** Sends audio the application wrote into `buf[0..len)` from `node` to `peer` ("address:port"). */
  sendFrom(node: NetNode<{ type: string }>, peer: string, buf: Uint8Array, len: number): void {
    if (len <= 0) return;
    const i = peer.lastIndexOf(":");
    this.route(
      node,
      node.address,
      node.port,
      peer.slice(0, i),
      Number(peer.slice(i + 1)),
      buf.subarray(0, len),
    );
  }

  /** Advances virtual time to `limit`, processing everything due on the way. */
  runUntil(limit: number): void {
    for (let step = 0; ; step++) {
      if (step > this.maxSteps) throw new Error("virtual net: no progress at t=" + this.now);
      const first = this.inFlight[0];
      const tD = first === undefined ? Infinity : first.at;
      const act = this.actions[0];
      const tA = act === undefined ? Infinity : act.at;
      let tT = Infinity;
      let timerNode: NetNode<{ type: string }> | undefined;
      for (const n of this.nodes) {
        const d = n.engine.nextDeadline();
        if (d < tT) {
          tT = d;
          timerNode = n;
        }
      }
      const t = Math.min(tD, tA, tT);
      if (t > limit) break;
      if (t > this.now) this.now = t;
      if (first !== undefined && tD === t) {
        this.inFlight.shift();
        this.counts.delivered++;
        this.receiveAt(first.to, first.fromAddress, first.fromPort, first.data);
      } else if (act !== undefined && tA === t) {
        this.actions.shift();
        act.fn();
      } else if (timerNode !== undefined) {
        timerNode.engine.handleTimeout(this.now);
        this.drain(timerNode);
      }
    }
    if (limit > this.now && limit !== Infinity) this.now = limit;
  }

  /** {@link runUntil} `now + ms`. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  private receiveAt(
    to: NetNode<{ type: string }>,
    fromAddress: string,
    fromPort: number,
    data: Uint8Array,
  ): void {
    if (to.logReceived) to.received.push({ t: this.now, from: fromAddress + ":" + fromPort, data });
    to.engine.receive(data, fromAddress, fromPort, this.now);
    this.drain(to);
  }

  /** Moves a node's transmits onto the network and its events into its log and handler, until both are empty. */
  private drain(node: NetNode<{ type: string }>): void {
    for (let round = 0; round < 10_000; round++) {
      let busy = false;
      for (let tx = node.engine.pollTransmit(); tx !== undefined; tx = node.engine.pollTransmit()) {
        busy = true;
        this.route(node, node.address, node.port, tx.address, tx.port, tx.data);
      }
      for (let e = node.engine.pollEvent(); e !== undefined; e = node.engine.pollEvent()) {
        busy = true;
        if (e.type !== "audio" || node.logAudio) node.events.push({ t: this.now, event: snapshot(e) });
        if (node.onEvent !== undefined) node.onEvent(e, node, this);
      }
      if (!busy) return;
    }
    throw new Error("virtual net: a node keeps producing output at t=" + this.now);
  }

  private route(
    from: NetNode<{ type: string }> | undefined,
    fromAddress: string,
    fromPort: number,
    toAddress: string,
    toPort: number,
    bytes: Uint8Array,
  ): void {
    const data = bytes.slice();
    const dests =
      toAddress === this.options.broadcast
        ? this.nodes.filter((n) => n.port === toPort && n !== from)
        : this.nodes.filter((n) => n.address === toAddress && n.port === toPort);
    let copies = 0;
    if (dests.length === 0) this.counts.unroutable++;
    for (const to of dests) {
      this.counts.sent++;
      if (
        this.filter !== undefined &&
        !this.filter({ t: this.now, from: fromAddress + ":" + fromPort, to: to.key, data })
      ) {
        this.counts.filtered++;
        continue;
      }
      if (this.rng() < this.options.loss) {
        this.counts.lost++;
        continue;
      }
      const n = this.rng() < this.options.duplicate ? 2 : 1;
      if (n === 2) this.counts.duplicated++;
      for (let k = 0; k < n; k++) {
        copies++;
        this.schedule({
          at: this.now + this.delay(),
          seq: this.seq++,
          from,
          fromAddress,
          fromPort,
          to,
          data,
        });
      }
    }
    if (from?.logSent) {
      from.sent.push({
        t: this.now,
        from: fromAddress + ":" + fromPort,
        to: toAddress + ":" + toPort,
        data,
        copies,
      });
    }
  }

  private delay(): number {
    const o = this.options;
    let d = o.latencyMs;
    if (o.jitterMs > 0) d += this.rng() * o.jitterMs;
    if (o.reorder > 0 && this.rng() < o.reorder) d += this.rng() * o.reorderMs;
    return d;
  }

  private schedule(f: InFlight): void {
    const list = this.inFlight;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = list[mid] as InFlight;
      if (m.at < f.at || (m.at === f.at && m.seq < f.seq)) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, f);
  }
}

/** A copy of an event safe to keep: the engines reuse their audio event and its payload is a view. */
function snapshot<E extends { type: string }>(e: E): E {
  if (e.type !== "audio") return e;
  const a = e as unknown as { payload: Uint8Array; byteIdx: { hi: number; lo: number } };
  return { ...e, payload: a.payload.slice(), byteIdx: { hi: a.byteIdx.hi, lo: a.byteIdx.lo } };
}

/** Decodes a datagram sent by `side` with the codec its first byte names, or undefined. */
export function decodeSent(
  data: Uint8Array,
  side: "client" | "server",
  codecs: { postcard: Codec; msgpack?: Codec },
): ClientMessage | ServerMessage | undefined {
  const name = detectCodec(data, 0);
  const codec = name === "postcard" ? codecs.postcard : codecs.msgpack;
  if (codec === undefined) return undefined;
  const d = side === "client" ? codec.client.decode(data, 0) : codec.server.decode(data, 0);
  return d.ok ? d.message : undefined;
}

/** A short name of a message for logs and assertions: "heartbeat", "ioRequest:start", "ioResult:start:ok", "connectionResult:ok", ... */
export function messageName(m: ClientMessage | ServerMessage | undefined): string {
  if (m === undefined) return "undecodable";
  switch (m.type) {
    case "ioRequest":
      return "ioRequest:" + m.state;
    case "ioResult":
      return "ioResult:" + m.state + ":" + m.result;
    case "connectionResult":
      return "connectionResult:" + m.result;
    default:
      return m.type;
  }
}
