/**
 * Server and client engines talking through the virtual network (test/support/virtual-net.ts):
 * the whole exchange of the sequence diagram, lost handshake messages, several clients and
 * servers, refusals, limits, codecs, and a one-minute session under 20 % seeded loss with
 * reordering and duplication. All on the virtual clock: times are exact and hand-computed.
 */
import { describe, expect, it } from "vitest";
import { Pacer } from "../shared/audio/pacer.js";
import type { StreamSink } from "../shared/audio/receiver.js";
import { ClientEngine, type ClientOptions } from "../shared/endpoint/client.js";
import type { ClientEvent, ServerEvent } from "../shared/endpoint/events.js";
import { ServerEngine, type ServerOptions } from "../shared/endpoint/server.js";
import { streamReceivers, streamReceiversTo } from "../shared/endpoint/stream-receivers.js";
import { type Format, frameSize, type StreamFormats, sampleSize } from "../shared/format.js";
import { type U64, u64, u64AddInPlace, u64ToNumber } from "../shared/u64.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { decodeSent, messageName, type NetNode, VirtualNet } from "./support/virtual-net.js";

const CODECS = { postcard, msgpack };
const FORMATS: StreamFormats = {
  inputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 32, sampleType: "I24" }],
  outputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 32, sampleType: "I32" }],
};
const BCAST = "127.255.255.255";
const SRV = "127.0.0.1:6910";

type SNode = NetNode<ServerEvent>;
type CNode = NetNode<ClientEvent>;

function addServer(net: VirtualNet, address: string, over?: Partial<ServerOptions>): SNode {
  return net.add(address, 6910, "server", new ServerEngine({ formats: FORMATS, codecs: CODECS, ...over }));
}

function addClient(net: VirtualNet, address: string, port: number, over?: Partial<ClientOptions>): CNode {
  const node = net.add(
    address,
    port,
    "client",
    new ClientEngine({ codecs: CODECS, targets: [{ address: BCAST, port: 6910 }], ...over }),
  );
  return node;
}

function engineOf(n: CNode): ClientEngine {
  return n.engine as ClientEngine;
}
function serverOf(n: SNode): ServerEngine {
  return n.engine as ServerEngine;
}

/** Event types with times, for compact comparisons. */
function timeline(
  n: { events: { t: number; event: { type: string } }[] },
  skipAudio = true,
): [number, string][] {
  return n.events.filter((l) => !skipAudio || l.event.type !== "audio").map((l) => [l.t, l.event.type]);
}

/** Names and times of what a node sent (decoded), optionally only to `to`. */
function sentNames(n: NetNode<{ type: string }>, to?: string): [number, string][] {
  return n.sent
    .filter((r) => to === undefined || r.to === to)
    .map((r) => [r.t, messageName(decodeSent(r.data, n.side, CODECS))]);
}

describe("session: the sequence diagram", () => {
  it("discovery, connect, ok, heartbeats, start, audio both ways, stop, disconnect", () => {
    const net = new VirtualNet({ latencyMs: 2 });
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000);
    const CLI = cli.key;
    cli.onEvent = (e) => {
      if (e.type === "connected") engineOf(cli).stopDiscovery();
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.at(300, () => net.act(cli, (c) => (c as ClientEngine).startIO(SRV, 300)));
    // audio every 10 ms from each side while it streams: 4 bytes from the server, 8 from the client
    const out = new Uint8Array(64);
    const sIdx = u64(0);
    const cIdx = u64(0);
    for (let t = 310; t < 600; t += 10) {
      net.at(t, () => {
        const ns = serverOf(srv).writeAudio(CLI, 0, sIdx, Uint8Array.from([1, 2, 3, 4]), out, 0);
        if (ns > 0) u64AddInPlace(sIdx, 4);
        net.sendFrom(srv, CLI, out, ns);
        const nc = engineOf(cli).writeAudio(
          SRV,
          0,
          cIdx,
          Uint8Array.from([5, 6, 7, 8, 9, 10, 11, 12]),
          out,
          0,
        );
        if (nc > 0) u64AddInPlace(cIdx, 8);
        net.sendFrom(cli, SRV, out, nc);
      });
    }
    net.at(600, () => net.act(cli, (c) => (c as ClientEngine).stopIO(SRV, 600)));
    net.at(800, () => net.act(cli, (c) => (c as ClientEngine).disconnect(SRV, 800)));
    net.runUntil(1000);

    // Discovery at 0 arrives at 2, Connect at 4, the client connects (sends Ok) at 4, the server at 6.
    expect(sentNames(cli).slice(0, 2)).toEqual([
      [0, "discovery"],
      [4, "connectionResult:ok"],
    ]);
    expect(sentNames(srv).slice(0, 1)).toEqual([[2, "connect"]]);
    expect(timeline(cli)).toEqual([
      [4, "offered"],
      [4, "connected"],
      [304, "ioStarted"],
      [604, "ioStopped"],
      [800, "disconnected"],
    ]);
    expect(timeline(srv)).toEqual([
      [6, "connected"],
      [302, "ioStarted"],
      [602, "ioStopped"],
      [802, "disconnected"],
    ]);
    // idle heartbeats every 100 ms from the last send: client from 4, server from 6
    expect(sentNames(cli).filter(([t, n]) => n === "heartbeat" && t < 300)).toEqual([
      [104, "heartbeat"],
      [204, "heartbeat"],
    ]);
    expect(sentNames(srv).filter(([t, n]) => n === "heartbeat" && t < 300)).toEqual([
      [106, "heartbeat"],
      [206, "heartbeat"],
    ]);
    // no heartbeat while audio flows both ways
    expect(sentNames(cli).filter(([t, n]) => n === "heartbeat" && t >= 300 && t < 600)).toEqual([]);
    expect(sentNames(srv).filter(([t, n]) => n === "heartbeat" && t >= 300 && t < 600)).toEqual([]);
    // the control exchange
    expect(sentNames(cli).filter(([, n]) => n.startsWith("ioRequest") || n === "disconnect")).toEqual([
      [300, "ioRequest:start"],
      [600, "ioRequest:stop"],
      [800, "disconnect"],
    ]);
    expect(sentNames(srv).filter(([, n]) => n.startsWith("ioResult"))).toEqual([
      [302, "ioResult:start:ok"],
      [602, "ioResult:stop:ok"],
    ]);
    // audio: the server writes from 310 (streaming since 302) to 590: 29 messages, all arrive 2 ms later
    const cliAudio = cli.eventsOf("audio");
    expect(cliAudio.map((l) => l.t)).toEqual(Array.from({ length: 29 }, (_, i) => 312 + 10 * i));
    expect(cliAudio.map((l) => u64ToNumber(l.event.byteIdx))).toEqual(
      Array.from({ length: 29 }, (_, i) => 4 * i),
    );
    expect(Array.from(cliAudio[0]?.event.payload ?? [])).toEqual([1, 2, 3, 4]);
    const srvAudio = srv.eventsOf("audio");
    expect(srvAudio.map((l) => l.t)).toEqual(Array.from({ length: 29 }, (_, i) => 312 + 10 * i));
    expect(Array.from(srvAudio[28]?.event.payload ?? [])).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    // the client stopped writing at 600 (stopIO), the server once Stop arrived at 602: nothing after
    expect(u64ToNumber(sIdx)).toBe(29 * 4);
    expect(u64ToNumber(cIdx)).toBe(29 * 8);
    // idle again after the stop: heartbeats 100 ms apart
    const late = sentNames(srv).filter(([t, n]) => n === "heartbeat" && t > 602);
    expect(late.map(([t]) => t)).toEqual([702]);
    expect(serverOf(srv).connectedCount).toBe(0);
    expect(engineOf(cli).connectedCount).toBe(0);
  });
});

describe("session: liveness", () => {
  it("both sides time a silent peer out at 600 ms", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000);
    cli.onEvent = (e) => {
      if (e.type === "connected") engineOf(cli).stopDiscovery();
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.filter = (d) => d.t < 1000; // the network dies at 1000
    net.runUntil(3000);
    // heartbeats both ways every 100 ms up to 900; nothing heard after 900
    expect(timeline(cli).filter(([, type]) => type !== "offered")).toEqual([
      [0, "connected"],
      [1500, "timedOut"],
    ]);
    expect(timeline(srv)).toEqual([
      [0, "connected"],
      [1500, "timedOut"],
    ]);
    expect(
      sentNames(cli, SRV)
        .filter(([, n]) => n === "heartbeat")
        .map(([t]) => t),
    ).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400]);
    // after its timeout the client keeps looking for that server: every 250 ms from 1500
    expect(
      sentNames(cli, SRV)
        .filter(([, n]) => n === "discovery")
        .map(([t]) => t),
    ).toEqual([1500, 1750, 2000, 2250, 2500, 2750, 3000]);
  });
});

describe("session: lost handshake messages", () => {
  it("a lost Connect: the next Discovery (250 ms later) gets a new offer", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000);
    let dropped = 0;
    net.filter = (d) => {
      if (d.from === SRV && d.data[0] === 0 && dropped === 0) {
        dropped++;
        return false;
      }
      return true;
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.runUntil(400);
    expect(dropped).toBe(1);
    expect(timeline(cli)).toEqual([
      [250, "offered"],
      [250, "connected"],
    ]);
    expect(timeline(srv)).toEqual([[250, "connected"]]);
  });

  it("a lost ConnectionResult while discovering: the next offer is answered Ok again", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000);
    let dropped = 0;
    net.filter = (d) => {
      if (d.to === SRV && d.data[0] === 1 && dropped === 0) {
        dropped++;
        return false;
      }
      return true;
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.runUntil(1000);
    expect(timeline(cli)).toEqual([
      [0, "offered"],
      [0, "connected"],
    ]);
    // the client's heartbeats at 100 and 200 reach a server that does not know it; at 250 its
    // broadcast Discovery gets a new offer, answered with Ok again
    expect(timeline(srv)).toEqual([[250, "connected"]]);
    expect(serverOf(srv).stats.fromUnknown).toBe(2);
    expect(sentNames(cli, SRV).filter(([, n]) => n === "connectionResult:ok")).toEqual([
      [0, "connectionResult:ok"],
      [250, "connectionResult:ok"],
    ]);
  });

  it("a lost ConnectionResult after discovery stopped: the client times out and rediscovers", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000);
    cli.onEvent = (e) => {
      if (e.type === "connected") engineOf(cli).stopDiscovery();
    };
    let dropped = 0;
    net.filter = (d) => {
      if (d.to === SRV && d.data[0] === 1 && dropped === 0) {
        dropped++;
        return false;
      }
      return true;
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.runUntil(2000);
    // the server never heartbeats a client it does not know: timeout at 600, Discovery to it at
    // once, a new offer, connected again at 600
    expect(timeline(cli)).toEqual([
      [0, "offered"],
      [0, "connected"],
      [600, "timedOut"],
      [600, "offered"],
      [600, "connected"],
    ]);
    expect(timeline(srv)).toEqual([[600, "connected"]]);
    expect(serverOf(srv).connectedCount).toBe(1);
    expect(engineOf(cli).connectedCount).toBe(1);
  });
});

describe("session: several peers", () => {
  it("several clients on one server; the streaming limit answers Failure, the backoff retry gets in", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1", { maxStreamingClients: 1 });
    const a = addClient(net, "127.0.0.10", 50000);
    const b = addClient(net, "127.0.0.11", 50001);
    const c = addClient(net, "127.0.0.12", 50002);
    for (const n of [a, b, c]) net.act(n, (e) => (e as ClientEngine).startDiscovery(0));
    net.at(100, () => net.act(a, (e) => (e as ClientEngine).startIO(SRV, 100)));
    net.at(150, () => net.act(b, (e) => (e as ClientEngine).startIO(SRV, 150)));
    net.at(500, () => net.act(a, (e) => (e as ClientEngine).stopIO(SRV, 500)));
    net.runUntil(1000);
    expect(serverOf(srv).peerKeys().sort()).toEqual([a.key, b.key, c.key]);
    expect(timeline(a).filter(([, t]) => t.startsWith("io"))).toEqual([
      [100, "ioStarted"],
      [500, "ioStopped"],
    ]);
    // b: Failure at 150, retry at 350 (Failure: a still streams), retry at 750: Ok
    expect(sentNames(b, SRV).filter(([, n]) => n.startsWith("ioRequest"))).toEqual([
      [150, "ioRequest:start"],
      [350, "ioRequest:start"],
      [750, "ioRequest:start"],
    ]);
    expect(timeline(b).filter(([, t]) => t.startsWith("io"))).toEqual([[750, "ioStarted"]]);
    expect(timeline(srv).filter(([, t]) => t.startsWith("io"))).toEqual([
      [100, "ioStarted"],
      [500, "ioStopped"],
      [750, "ioStarted"],
    ]);
  });

  it("the connection limit: no offer while full, an offer once a slot frees", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1", { maxClients: 1 });
    const a = addClient(net, "127.0.0.10", 50000);
    const b = addClient(net, "127.0.0.11", 50001);
    net.act(a, (e) => (e as ClientEngine).startDiscovery(0));
    net.at(10, () => net.act(b, (e) => (e as ClientEngine).startDiscovery(10)));
    net.at(1000, () => net.act(a, (e) => (e as ClientEngine).close(1000)));
    net.runUntil(1300);
    expect(timeline(b)).toEqual([
      [1010, "offered"],
      [1010, "connected"],
    ]);
    // b's beacons at 10, 260, 510, 760 found the server full
    expect(serverOf(srv).stats.offersWithheld).toBeGreaterThanOrEqual(4);
    expect(sentNames(srv, b.key).filter(([, n]) => n === "connect")).toEqual([[1010, "connect"]]);
  });

  it("several servers on one client, each with its own IO and counters", () => {
    const net = new VirtualNet({ latencyMs: 1 });
    const s1 = addServer(net, "127.0.0.1");
    const s2 = addServer(net, "127.0.0.2");
    const cli = addClient(net, "127.0.0.10", 50000, { receivers: streamReceivers });
    cli.onEvent = (e) => {
      if (e.type === "connected") engineOf(cli).startIO(e.peer, net.now);
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    const out = new Uint8Array(64);
    for (let t = 10; t <= 100; t += 10) {
      net.at(t, () => {
        for (const [s, n] of [
          [s1, 3],
          [s2, 6],
        ] as const) {
          const len = serverOf(s).writeAudio(
            cli.key,
            0,
            u64(((t - 10) / 10) * n),
            new Uint8Array(n).fill(n),
            out,
            0,
          );
          net.sendFrom(s, cli.key, out, len);
        }
      });
    }
    net.runUntil(200);
    const c = engineOf(cli);
    expect(c.peerKeys().sort()).toEqual([s1.key, s2.key]);
    expect(timeline(cli).filter(([, t]) => t === "ioStarted")).toEqual([
      [4, "ioStarted"],
      [4, "ioStarted"],
    ]);
    expect(c.peerStats(s1.key)).toMatchObject({ audioIn: 10, bytesReceived: 30, bytesDelivered: 30 });
    expect(c.peerStats(s2.key)).toMatchObject({ audioIn: 10, bytesReceived: 60, bytesDelivered: 60 });
  });
});

describe("session: refusal and codecs", () => {
  it("a client refuses incompatible formats; the server does not offer to it again for 10 s", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000, { supports: (f) => f.sampleType !== "I32" });
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.runUntil(12000);
    expect(sentNames(srv, cli.key).map(([t]) => t)).toEqual([0, 10000]);
    expect(timeline(cli)).toEqual([
      [0, "offered"],
      [0, "refusedByPolicy"],
      [10000, "offered"],
      [10000, "refusedByPolicy"],
    ]);
    expect(timeline(srv)).toEqual([
      [0, "declined"],
      [10000, "declined"],
    ]);
    // beacons at 250 .. 9750 and 10250 .. 12000 were not answered
    expect(serverOf(srv).stats.offersWithheld).toBe(39 + 8);
  });

  it("a msgpack client gets msgpack answers throughout", () => {
    const net = new VirtualNet();
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000, { codec: "msgpack" });
    cli.onEvent = (e) => {
      if (e.type === "connected") {
        engineOf(cli).stopDiscovery();
        engineOf(cli).startIO(e.peer, net.now);
      }
    };
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.at(500, () => net.act(cli, (c) => (c as ClientEngine).stopIO(SRV, 500)));
    net.runUntil(700);
    expect(timeline(cli).filter(([, t]) => t.startsWith("io"))).toEqual([
      [0, "ioStarted"],
      [500, "ioStopped"],
    ]);
    expect(srv.sent.length).toBeGreaterThan(5);
    expect(srv.sent.every((r) => (r.data[0] ?? 0) >= 0x80)).toBe(true);
    expect(cli.sent.every((r) => (r.data[0] ?? 0) >= 0x80)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// One minute under loss

/** Byte k of stream `s`: never 0, so that silence (all zeros for signed types) is recognisable. */
function sourceByte(s: number, k: number): number {
  return 1 + ((k * 131 + s * 17 + Math.floor(k / 256)) % 251);
}

/** Records a receiver's output into a byte array at the output offsets. */
class Recorder implements StreamSink {
  readonly out: Uint8Array;
  constructor(bytes: number) {
    this.out = new Uint8Array(bytes);
  }
  data(outByte: number, buf: Uint8Array, start: number, length: number): void {
    this.out.set(buf.subarray(start, start + length), outByte);
  }
  silence(outByte: number, length: number): void {
    this.out.fill(0, outByte, outByte + length);
  }
}

/** Sends one stream paced from IO start, in chunks of `chunk` bytes (not whole samples). */
class Source {
  readonly pacer: Pacer;
  readonly idx: U64 = { hi: 0, lo: 0 };
  readonly buf: Uint8Array;
  sent = 0;
  constructor(
    readonly stream: number,
    format: Format,
    readonly chunk: number,
  ) {
    this.pacer = new Pacer(format.sampleRate, frameSize(format));
    this.buf = new Uint8Array(chunk);
  }
  payload(): Uint8Array {
    const k0 = u64ToNumber(this.idx);
    for (let i = 0; i < this.chunk; i++) this.buf[i] = sourceByte(this.stream, k0 + i);
    return this.buf;
  }
}

/** What a receiver must have output, worked out from the messages it was handed, in order. */
function oracle(
  messages: { byteIdx: number; payload: Uint8Array }[],
  s: number,
  stream: number,
  length: number,
) {
  const covered = new Uint8Array(length);
  let expected = 0;
  let old = 0;
  let received = 0;
  let corrupt = 0;
  for (const m of messages) {
    if (m.byteIdx < expected) {
      old++;
      continue;
    }
    for (let i = 0; i < m.payload.length; i++) {
      covered[m.byteIdx + i] = 1;
      if (m.payload[i] !== sourceByte(stream, m.byteIdx + i)) corrupt++;
    }
    received += m.payload.length;
    expected = m.byteIdx + m.payload.length;
  }
  expect(corrupt).toBe(0);
  const outputBytes = expected - (expected % s);
  let padded = 0;
  let droppedInOutput = 0;
  let droppedTail = 0;
  let heldNotLost = 0;
  let uncovered = 0;
  const whole: boolean[] = [];
  for (let n = 0; n * s < expected; n++) {
    const present = Math.min(s, expected - n * s);
    let c = 0;
    for (let i = 0; i < present; i++) c += covered[n * s + i] ?? 0;
    whole.push(c === s);
    if (present === s) {
      if (c !== s) {
        padded++;
        droppedInOutput += c;
        uncovered += s - c;
      }
    } else if (c < present) {
      droppedTail += c; // the incomplete last sample already lost a byte: it will be silence
    } else {
      heldNotLost = c; // the incomplete last sample so far arrived whole: held
    }
  }
  return {
    expected,
    outputBytes,
    padded,
    droppedInOutput,
    droppedTail,
    heldNotLost,
    uncovered,
    old,
    received,
    whole,
  };
}

describe("session: one minute under 20 % loss, reordering and duplication", () => {
  it("stays connected; every whole sample lands at its index, the rest is silence; counters add up", () => {
    const net = new VirtualNet({
      seed: 2024,
      loss: 0.2,
      duplicate: 0.05,
      reorder: 0.1,
      reorderMs: 15,
      latencyMs: 2,
      jitterMs: 1,
    });
    const inFmt = FORMATS.inputs[0] as Format; // I24, server -> client
    const outFmt = FORMATS.outputs[0] as Format; // I32, client -> server
    const seconds = 60;
    const recIn = new Recorder(8000 * 3 * seconds + 1000);
    const recOut = new Recorder(8000 * 4 * seconds + 1000);
    const srv = addServer(net, "127.0.0.1", { receivers: streamReceiversTo(() => recOut) });
    const cli = addClient(net, "127.0.0.10", 50000, { receivers: streamReceiversTo(() => recIn) });
    srv.logReceived = false;
    cli.logReceived = false;
    srv.logSent = false;
    cli.logSent = false;
    const srcIn = new Source(0, inFmt, 100); // 100 bytes: samples split across messages
    const srcOut = new Source(1, outFmt, 250);
    let clientStreaming = false;
    let serverStreaming = false;
    (srv as SNode).onEvent = (e) => {
      if (e.type === "ioStarted") {
        serverStreaming = true;
        srcIn.pacer.start(net.now);
      }
    };
    cli.onEvent = (e) => {
      if (e.type === "connected") {
        engineOf(cli).stopDiscovery();
        engineOf(cli).startIO(e.peer, net.now);
      }
      if (e.type === "ioStarted") {
        clientStreaming = true;
        srcOut.pacer.start(net.now);
      }
    };
    const wire = new Uint8Array(1472);
    const sentIn: number[] = [];
    const sentOut: number[] = [];
    const tick = (t: number) => {
      if (serverStreaming) {
        while (srcIn.pacer.due(t) >= srcIn.chunk) {
          const n = serverOf(srv).writeAudio(cli.key, 0, srcIn.idx, srcIn.payload(), wire, 0);
          expect(n).toBe(117);
          srcIn.pacer.take(srcIn.chunk);
          sentIn.push(u64ToNumber(srcIn.idx));
          u64AddInPlace(srcIn.idx, srcIn.chunk);
          net.sendFrom(srv, cli.key, wire, n);
        }
      }
      if (clientStreaming) {
        while (srcOut.pacer.due(t) >= srcOut.chunk) {
          const n = engineOf(cli).writeAudio(SRV, 0, srcOut.idx, srcOut.payload(), wire, 0);
          expect(n).toBe(267);
          srcOut.pacer.take(srcOut.chunk);
          sentOut.push(u64ToNumber(srcOut.idx));
          u64AddInPlace(srcOut.idx, srcOut.chunk);
          net.sendFrom(cli, SRV, wire, n);
        }
      }
      if (t + 5 <= seconds * 1000) net.at(t + 5, () => tick(t + 5));
    };
    net.at(0, () => tick(0));
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.runUntil(seconds * 1000 + 100);

    // connected once on each side, never dropped
    expect(timeline(cli).map(([, t]) => t)).toEqual(["offered", "connected", "ioStarted"]);
    expect(timeline(srv).map(([, t]) => t)).toEqual(["connected", "ioStarted"]);
    expect(net.counts.lost).toBeGreaterThan(0.15 * net.counts.sent);
    expect(net.counts.duplicated).toBeGreaterThan(0);

    // the messages handed to each receiver are the audio events, in order
    const check = (
      node: { events: { event: { type: string } }[] },
      stream: number,
      s: number,
      rec: Recorder,
      stats: ReturnType<ClientEngine["peerStats"]>,
      sentIdx: number[],
      chunk: number,
    ) => {
      const msgs = node.events
        .filter((l) => l.event.type === "audio")
        .map((l) => {
          const e = l.event as unknown as { byteIdx: U64; payload: Uint8Array };
          return { byteIdx: u64ToNumber(e.byteIdx), payload: e.payload };
        });
      const o = oracle(msgs, s, stream, rec.out.length);
      if (stats === undefined) throw new Error("no stats");
      expect(o.old).toBeGreaterThan(0); // reordering and duplicates happened
      expect(o.padded).toBeGreaterThan(0);
      expect(stats.oldMessages).toBe(o.old);
      expect(stats.bytesReceived).toBe(o.received);
      expect(stats.samplesPadded).toBe(o.padded);
      expect(stats.bytesLost).toBe(o.padded * s);
      expect(stats.bytesDelivered).toBe(o.outputBytes - o.padded * s);
      expect(stats.bytesDropped).toBe(o.droppedInOutput + o.droppedTail);
      // every lost byte is accounted for: the silence is exactly the bytes that never came (or
      // came late) plus the bytes that came but whose sample did not arrive whole
      expect(stats.bytesLost).toBe(o.uncovered + o.droppedInOutput);
      // and every received byte was delivered, dropped or is held in the incomplete last sample
      expect(stats.bytesReceived).toBe(stats.bytesDelivered + stats.bytesDropped + o.heldNotLost);
      // sample n of the output is sample n of the stream, or silence when it did not arrive whole
      const wrong: number[] = [];
      for (let n = 0; n < o.outputBytes / s; n++) {
        for (let i = 0; i < s; i++) {
          const k = n * s + i;
          if (rec.out[k] !== (o.whole[n] ? sourceByte(stream, k) : 0) && wrong.length < 10) wrong.push(k);
        }
      }
      expect(wrong, "output bytes that are neither their stream byte nor silence").toEqual([]);
      // nothing was written beyond the output
      expect(rec.out.subarray(o.outputBytes).every((b) => b === 0)).toBe(true);
      // the sender sent every byte index once, contiguously
      expect(sentIdx.every((v, i) => v === i * chunk)).toBe(true);
      expect(o.expected).toBeLessThanOrEqual(sentIdx.length * chunk);
      expect(o.expected).toBeGreaterThan(sentIdx.length * chunk - 20 * chunk);
    };
    check(cli, 0, sampleSize(inFmt.sampleType), recIn, engineOf(cli).peerStats(SRV), sentIn, 100);
    check(srv, 1, sampleSize(outFmt.sampleType), recOut, serverOf(srv).peerStats(cli.key), sentOut, 250);
    // a minute of audio went each way
    expect(sentIn.length * 100).toBeGreaterThanOrEqual(8000 * 3 * (seconds - 1));
    expect(sentOut.length * 250).toBeGreaterThanOrEqual(8000 * 4 * (seconds - 1));
  });
});

describe("session: a server without injected receivers (the firmware's setup)", () => {
  it("counts old messages, gaps and the bytes they skipped from byte indices alone", () => {
    const net = new VirtualNet({
      seed: 99,
      loss: 0.2,
      duplicate: 0.05,
      reorder: 0.1,
      reorderMs: 15,
      latencyMs: 2,
    });
    const outFmt = FORMATS.outputs[0] as Format; // I32, client -> server
    const srv = addServer(net, "127.0.0.1");
    const cli = addClient(net, "127.0.0.10", 50000);
    srv.logReceived = false;
    cli.logReceived = false;
    const src = new Source(1, outFmt, 250);
    let streaming = false;
    cli.onEvent = (e) => {
      if (e.type === "connected") {
        engineOf(cli).stopDiscovery();
        engineOf(cli).startIO(e.peer, net.now);
      }
      if (e.type === "ioStarted") {
        streaming = true;
        src.pacer.start(net.now);
      }
    };
    const wire = new Uint8Array(1472);
    const tick = (t: number) => {
      while (streaming && src.pacer.due(t) >= src.chunk) {
        const n = engineOf(cli).writeAudio(SRV, 0, src.idx, src.payload(), wire, 0);
        src.pacer.take(src.chunk);
        u64AddInPlace(src.idx, src.chunk);
        net.sendFrom(cli, SRV, wire, n);
      }
      if (t + 5 <= 10000) net.at(t + 5, () => tick(t + 5));
    };
    net.at(0, () => tick(0));
    net.act(cli, (c) => (c as ClientEngine).startDiscovery(0));
    net.runUntil(10100);
    expect(timeline(srv).map(([, t]) => t)).toEqual(["connected", "ioStarted"]);

    // what the index check must have counted, from the audio events in order
    let expected = 0;
    let old = 0;
    let gaps = 0;
    let skipped = 0;
    let received = 0;
    for (const l of srv.events) {
      if (l.event.type !== "audio") continue;
      const e = l.event as unknown as { byteIdx: U64; payload: Uint8Array };
      const idx = u64ToNumber(e.byteIdx);
      if (idx < expected) {
        old++;
        continue;
      }
      if (idx > expected) {
        gaps++;
        skipped += idx - expected;
      }
      received += e.payload.length;
      expected = idx + e.payload.length;
    }
    expect(old).toBeGreaterThan(0);
    expect(gaps).toBeGreaterThan(0);
    expect(serverOf(srv).peerStats(cli.key)).toMatchObject({
      oldMessages: old,
      gapMessages: gaps,
      bytesLost: skipped,
      bytesReceived: received,
      resyncs: 0,
      bytesDelivered: 0,
      samplesPadded: 0,
    });
    // the server's stream index never runs ahead of what the client sent
    expect(expected).toBeLessThanOrEqual(u64ToNumber(src.idx));
    expect(received).toBeGreaterThan(0.7 * u64ToNumber(src.idx));
  });
});
