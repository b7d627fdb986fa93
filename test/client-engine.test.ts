/**
 * ClientEngine on its own: the servers are played by hand-made datagrams fed in at chosen
 * virtual times; transmits, events and counters are compared with BEHAVIOUR.md, worked out by
 * hand (request retransmission every 100 ms, at most 10 sends; the Failure backoff 200, 400,
 * 800, 1600 ms; heartbeats every 100 ms; timeout at 600 ms; Discovery every 250 ms).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RECEIVE_ACCEPTED } from "../shared/audio/receiver.js";
import { ClientEngine, type ClientOptions } from "../shared/endpoint/client.js";
import type { ClientEvent } from "../shared/endpoint/events.js";
import { streamReceivers } from "../shared/endpoint/stream-receivers.js";
import type { Format, StreamFormats } from "../shared/format.js";
import { type ClientMessage, Server, type ServerMessage } from "../shared/message.js";
import { u64 } from "../shared/u64.js";
import { type Codec, detectCodec } from "../shared/wire/codec.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { messageName } from "./support/virtual-net.js";

const FORMATS: StreamFormats = {
  inputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 32, sampleType: "I16" }],
  outputs: [{ sampleRate: 8000, channelCount: 2, bufferSize: 16, sampleType: "I24" }],
};
const OTHER: StreamFormats = { inputs: FORMATS.inputs, outputs: [] };
const CODECS = { postcard, msgpack };
const S1 = { address: "127.0.0.5", port: 6910 };
const S2 = { address: "127.0.0.6", port: 6910 };
const K1 = "127.0.0.5:6910";
const K2 = "127.0.0.6:6910";
const BCAST = "127.255.255.255:6910";

function client(over?: Partial<ClientOptions>): ClientEngine {
  return new ClientEngine({ codecs: CODECS, ...over });
}

function enc(m: ServerMessage, codec: Codec = postcard): Uint8Array {
  const b = new Uint8Array(codec.server.encodingLength(m));
  codec.server.encode(m, b, 0);
  return b;
}

const connectMsg = (formats: StreamFormats = FORMATS): ServerMessage => ({ type: "connect", formats });

function audio(streamIdx: number, byteIdx: number, payload: Uint8Array, nBytes = payload.length): Uint8Array {
  const m: ServerMessage = { type: "audio", header: { streamIdx, byteIdx: u64(byteIdx), nBytes } };
  const b = new Uint8Array(17 + payload.length);
  postcard.server.encode(m, b, 0);
  b.set(payload, 17);
  return b;
}

interface Sent {
  to: string;
  name: string;
  codec: string;
}

function decodeClient(data: Uint8Array): { msg: ClientMessage | undefined; codec: string } {
  const codec = detectCodec(data, 0) === "msgpack" ? msgpack : postcard;
  const d = codec.client.decode(data, 0);
  return { msg: d.ok ? d.message : undefined, codec: codec.name };
}

function sent(c: ClientEngine): Sent[] {
  const out: Sent[] = [];
  for (let t = c.pollTransmit(); t !== undefined; t = c.pollTransmit()) {
    const d = decodeClient(t.data);
    out.push({ to: t.address + ":" + t.port, name: messageName(d.msg), codec: d.codec });
  }
  return out;
}

function events(c: ClientEngine): ClientEvent[] {
  const out: ClientEvent[] = [];
  for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) out.push(e);
  return out;
}

function from(c: ClientEngine, who: { address: string; port: number }, data: Uint8Array, t: number): void {
  c.receive(data, who.address, who.port, t);
}

/** Connects to server `who` at `t`, leaving nothing queued. */
function connect(c: ClientEngine, who: { address: string; port: number }, t: number): void {
  from(c, who, enc(connectMsg()), t);
  expect(sent(c).map((x) => x.name)).toEqual(["connectionResult:ok"]);
  expect(events(c).map((e) => e.type)).toEqual(["offered", "connected"]);
}

/**
 * Runs the client's timers until `t1`, playing the servers: `reply(t, to, name)` may return
 * datagrams to deliver at once from the addressee; heartbeats from every connected server every
 * 100 ms (at 50, 150, ...) keep the connections alive unless `quiet`.
 */
function run(
  c: ClientEngine,
  t0: number,
  t1: number,
  reply: (t: number, to: string, name: string) => Uint8Array[],
  quiet = false,
): { t: number; to: string; name: string }[] {
  const log: { t: number; to: string; name: string }[] = [];
  let nextBeat = Math.floor(t0 / 100) * 100 + 50;
  if (nextBeat <= t0) nextBeat += 100;
  const flush = (t: number) => {
    for (let i = 0; i < 100; i++) {
      const batch = sent(c);
      if (batch.length === 0) return;
      for (const x of batch) {
        log.push({ t, to: x.to, name: x.name });
        for (const d of reply(t, x.to, x.name)) {
          const i2 = x.to.lastIndexOf(":");
          c.receive(d, x.to.slice(0, i2), Number(x.to.slice(i2 + 1)), t);
        }
      }
    }
  };
  flush(t0);
  for (let i = 0; i < 100000; i++) {
    const d = c.nextDeadline();
    const beat = quiet ? Infinity : nextBeat;
    const t = Math.min(d, beat);
    if (t > t1) break;
    if (beat <= d) {
      for (const k of c.peerKeys()) {
        const j = k.lastIndexOf(":");
        c.receive(enc(Server.HEARTBEAT), k.slice(0, j), Number(k.slice(j + 1)), beat);
      }
      nextBeat += 100;
      flush(beat);
    } else {
      c.handleTimeout(d);
      flush(d);
    }
  }
  return log;
}

const none = () => [] as Uint8Array[];

describe("ClientEngine: discovery", () => {
  it("sends Discovery to every target at once and every 250 ms until stopped", () => {
    const c = client({ targets: [{ address: "127.255.255.255", port: 6910 }, S1] });
    c.startDiscovery(0);
    const log = run(c, 0, 1000, none);
    expect(log).toEqual(
      [0, 250, 500, 750, 1000].flatMap((t) => [
        { t, to: BCAST, name: "discovery" },
        { t, to: K1, name: "discovery" },
      ]),
    );
    c.stopDiscovery();
    expect(run(c, 1000, 3000, none)).toEqual([]);
    expect(c.nextDeadline()).toBe(Infinity);
  });

  it("reaches every one of 200 targets in one beacon round (the queue makes room for them)", () => {
    const targets = Array.from({ length: 200 }, (_, i) => ({
      address: `127.0.${1 + (i >> 8)}.${i & 255}`,
      port: 6910,
    }));
    const c = client({ targets });
    c.startDiscovery(0);
    const out = sent(c);
    expect(out).toHaveLength(200);
    expect(new Set(out.map((o) => o.to)).size).toBe(200);
    expect(out.every((o) => o.name === "discovery")).toBe(true);
    expect(c.stats.transmitsDropped).toBe(0);
    // With the queue pinned at 64, the first 136 of the round are pushed out, and counted.
    const pinned = client({ targets, queueCapacity: 64 });
    pinned.startDiscovery(0);
    expect(sent(pinned).map((o) => o.to)).toEqual(targets.slice(136).map((t) => `${t.address}:${t.port}`));
    expect(pinned.stats.transmitsDropped).toBe(136);
    expect(() => client({ queueCapacity: 0 })).toThrow('"queueCapacity" must be a positive integer, got 0');
  });

  it("uses its codec for Discovery and answers a server in the codec it used", () => {
    const c = client({ codec: "msgpack", targets: [S1] });
    c.startDiscovery(0);
    expect(sent(c)).toEqual([{ to: K1, name: "discovery", codec: "msgpack" }]);
    from(c, S1, enc(connectMsg(), postcard), 10);
    expect(sent(c)).toEqual([{ to: K1, name: "connectionResult:ok", codec: "postcard" }]);
    from(c, S1, enc(Server.HEARTBEAT, msgpack), 20);
    c.startIO(K1, 30);
    expect(sent(c)).toEqual([{ to: K1, name: "ioRequest:start", codec: "msgpack" }]);
  });
});

describe("ClientEngine: offers", () => {
  it("accepts supported formats, refuses unsupported ones, and is busy beyond maxServers", () => {
    const supports = (f: Format) => f.sampleType !== "U64";
    const c = client({ supports, maxServers: 1 });
    const bad: StreamFormats = {
      inputs: FORMATS.inputs,
      outputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 0, sampleType: "U64" }],
    };
    from(c, S2, enc(connectMsg(bad)), 0);
    expect(sent(c)).toEqual([{ to: K2, name: "connectionResult:refusal", codec: "postcard" }]);
    expect(events(c)).toEqual([
      { type: "offered", peer: K2, formats: bad },
      { type: "refusedByPolicy", peer: K2, result: "refusal", formats: bad },
    ]);
    connect(c, S1, 1);
    from(c, S2, enc(connectMsg()), 2);
    expect(sent(c).map((x) => x.name)).toEqual(["connectionResult:failure"]);
    expect(events(c).map((e) => e.type)).toEqual(["offered", "refusedByPolicy"]);
    expect(c.peerKeys()).toEqual([K1]);
  });

  it("asks the accept policy", () => {
    const seen: string[] = [];
    const c = client({
      accept: (f, peer) => {
        seen.push(peer + " " + f.outputs.length);
        return "failure";
      },
    });
    from(c, S1, enc(connectMsg()), 0);
    expect(sent(c).map((x) => x.name)).toEqual(["connectionResult:failure"]);
    expect(seen).toEqual([K1 + " 1"]);
    expect(c.connectedCount).toBe(0);
  });

  it("answers a repeated Connect with the same formats with Ok again; other formats are ignored", () => {
    const c = client();
    connect(c, S1, 0);
    from(c, S1, enc(connectMsg()), 50);
    expect(sent(c).map((x) => x.name)).toEqual(["connectionResult:ok"]);
    expect(events(c)).toEqual([]);
    from(c, S1, enc(connectMsg(OTHER)), 60);
    expect(sent(c)).toEqual([]);
    expect(c.peer(K1)?.stats.unexpected).toBe(1);
    expect(c.peer(K1)?.formats).toEqual(FORMATS);
  });
});

describe("ClientEngine: liveness", () => {
  it("heartbeats every 100 ms while idle and times a silent server out at 600 ms, then rediscovers it", () => {
    const c = client();
    connect(c, S1, 20);
    const log = run(c, 20, 1500, none, true);
    expect(log).toEqual([
      ...[120, 220, 320, 420, 520].map((t) => ({ t, to: K1, name: "heartbeat" })),
      // timed out at 620: Discovery to that server at once, then every 250 ms
      ...[620, 870, 1120, 1370].map((t) => ({ t, to: K1, name: "discovery" })),
    ]);
    expect(events(c).map((e) => e.type)).toEqual(["timedOut"]);
    // its next offer reconnects; rediscovery ends
    from(c, S1, enc(connectMsg()), 1400);
    expect(sent(c).map((x) => x.name)).toEqual(["connectionResult:ok"]);
    expect(run(c, 1400, 1700, none).filter((x) => x.name === "discovery")).toEqual([]);
  });

  it("keeps a server that heartbeats; Disconnect from it ends the connection", () => {
    const c = client();
    connect(c, S1, 0);
    run(c, 0, 5000, none);
    expect(c.peerKeys()).toEqual([K1]);
    expect(events(c)).toEqual([]);
    from(c, S1, enc(Server.DISCONNECT), 5001);
    expect(events(c)).toMatchObject([{ type: "disconnected", peer: K1, by: "peer" }]);
    expect(c.nextDeadline()).toBe(Infinity); // no rediscovery after a Disconnect
  });

  it("disconnect() and close() send Disconnect", () => {
    const c = client({ targets: [S1] });
    c.startDiscovery(0);
    sent(c);
    connect(c, S1, 0);
    connect(c, S2, 0);
    expect(c.disconnect(K2, 10)).toBe(true);
    expect(c.disconnect(K2, 10)).toBe(false);
    expect(sent(c)).toEqual([{ to: K2, name: "disconnect", codec: "postcard" }]);
    c.close(20);
    expect(sent(c)).toEqual([{ to: K1, name: "disconnect", codec: "postcard" }]);
    expect(events(c)).toMatchObject([
      { type: "disconnected", peer: K2, by: "us" },
      { type: "disconnected", peer: K1, by: "us" },
    ]);
    expect(c.isDiscovering).toBe(false);
    expect(c.nextDeadline()).toBe(Infinity);
  });
});

describe("ClientEngine: IO requests", () => {
  it("retransmits an unanswered request every 100 ms, 10 sends in all, then reports noAnswer", () => {
    const c = client();
    connect(c, S1, 1000);
    expect(c.startIO(K1, 1000)).toBe(true);
    const log = run(c, 1000, 3000, none).filter((x) => x.name !== "heartbeat");
    expect(log.map((x) => x.t)).toEqual([1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900]);
    expect(log.every((x) => x.name === "ioRequest:start" && x.to === K1)).toBe(true);
    const ev = events(c);
    expect(ev).toEqual([{ type: "ioFailed", peer: K1, state: "start", reason: "noAnswer" }]);
    expect(c.ioPhase(K1)).toBe("stopped");
  });

  it("recovers a lost request or reply by retransmission (answer to the 3rd send)", () => {
    const c = client();
    connect(c, S1, 1000);
    c.startIO(K1, 1000);
    let n = 0;
    const log = run(c, 1000, 2000, (_t, _to, name) => {
      if (name !== "ioRequest:start") return [];
      n++;
      return n === 3 ? [enc(Server.START_IO_OK)] : [];
    }).filter((x) => x.name !== "heartbeat");
    expect(log.map((x) => x.t)).toEqual([1000, 1100, 1200]);
    expect(events(c)).toEqual([{ type: "ioStarted", peer: K1, rttMs: undefined }]);
    expect(c.ioPhase(K1)).toBe("started");
    // a late duplicate Ok changes nothing
    from(c, S1, enc(Server.START_IO_OK), 2001);
    expect(events(c)).toEqual([]);
    expect(c.peer(K1)?.stats.unexpected).toBe(1);
  });

  it("measures the round trip when the request was sent once", () => {
    const c = client();
    connect(c, S1, 0);
    c.startIO(K1, 100);
    sent(c);
    from(c, S1, enc(Server.START_IO_OK), 137);
    expect(events(c)).toEqual([{ type: "ioStarted", peer: K1, rttMs: 37 }]);
  });

  it("retries after Failure with backoff 200, 400, 800, 1600 ms, then reports failureExhausted", () => {
    const c = client();
    connect(c, S1, 1000);
    c.startIO(K1, 1000);
    const log = run(c, 1000, 6000, (_t, _to, name) =>
      name === "ioRequest:start" ? [enc(Server.START_IO_FAILED)] : [],
    ).filter((x) => x.name !== "heartbeat");
    expect(log.map((x) => x.t)).toEqual([1000, 1200, 1600, 2400, 4000]);
    expect(events(c)).toEqual([{ type: "ioFailed", peer: K1, state: "start", reason: "failureExhausted" }]);
  });

  it("a Failure, then a lost reply, then Ok: the backoff and the retransmissions combine", () => {
    const c = client();
    connect(c, S1, 1000);
    c.startIO(K1, 1000);
    let n = 0;
    const log = run(c, 1000, 3000, (_t, _to, name) => {
      if (name !== "ioRequest:start") return [];
      n++;
      if (n === 1) return [enc(Server.START_IO_FAILED)];
      return n === 3 ? [enc(Server.START_IO_OK)] : [];
    }).filter((x) => x.name !== "heartbeat");
    // 1000 failure -> 1200 (no answer) -> 1300 ok
    expect(log.map((x) => x.t)).toEqual([1000, 1200, 1300]);
    expect(events(c)).toEqual([{ type: "ioStarted", peer: K1, rttMs: undefined }]);
  });

  it("counts a duplicated Failure reply once (the second arrives during the backoff)", () => {
    const c = client();
    connect(c, S1, 1000);
    c.startIO(K1, 1000);
    const log = run(c, 1000, 1700, (t, _to, name) => {
      if (name !== "ioRequest:start") return [];
      if (t === 1000) {
        c.receive(enc(Server.START_IO_FAILED), S1.address, S1.port, 1000);
        return [enc(Server.START_IO_FAILED)]; // the same reply twice
      }
      return [enc(Server.START_IO_FAILED)];
    }).filter((x) => x.name !== "heartbeat");
    // one failure at 1000 (backoff 200), one at 1200 (backoff 400): sends at 1000, 1200, 1600
    expect(log.map((x) => x.t)).toEqual([1000, 1200, 1600]);
    expect(c.peer(K1)?.stats.unexpected).toBe(1);
  });

  it("reports a Refusal at once and never retries it", () => {
    const c = client();
    connect(c, S1, 1000);
    c.startIO(K1, 1000);
    const log = run(c, 1000, 4000, (_t, _to, name) =>
      name === "ioRequest:start" ? [enc(Server.START_IO_REFUSED)] : [],
    ).filter((x) => x.name !== "heartbeat");
    expect(log.map((x) => x.t)).toEqual([1000]);
    expect(events(c)).toEqual([{ type: "ioFailed", peer: K1, state: "start", reason: "refusal" }]);
  });

  it("sends STOP_IO to stop, stops writing at once, and reports ioStopped on Stop(Ok)", () => {
    const c = client();
    connect(c, S1, 0);
    c.startIO(K1, 10);
    sent(c);
    from(c, S1, enc(Server.START_IO_OK), 10);
    events(c);
    const out = new Uint8Array(100);
    expect(c.writeAudio(K1, 0, u64(0), new Uint8Array(6), out, 0)).toBe(23);
    expect(c.writeAudio(K1, 1, u64(0), new Uint8Array(6), out, 0)).toBe(0); // one output stream only
    c.stopIO(K1, 20);
    expect(sent(c).map((x) => x.name)).toEqual(["ioRequest:stop"]);
    expect(c.writeAudio(K1, 0, u64(6), new Uint8Array(6), out, 0)).toBe(0);
    // audio from the server is still taken until Stop(Ok)
    from(c, S1, audio(0, 0, new Uint8Array(4)), 25);
    expect(events(c).map((e) => e.type)).toEqual(["audio"]);
    from(c, S1, enc(Server.STOP_IO_OK), 30);
    expect(events(c)).toEqual([{ type: "ioStopped", peer: K1, rttMs: 10 }]);
    expect(c.ioPhase(K1)).toBe("stopped");
    from(c, S1, audio(0, 4, new Uint8Array(4)), 35);
    expect(events(c)).toEqual([]);
    expect(c.peer(K1)?.stats.discardedAudio).toBe(1);
  });

  it("a Stop that fails leaves IO running", () => {
    const c = client({ timing: { failureBackoffMs: [] } });
    connect(c, S1, 0);
    c.startIO(K1, 0);
    from(c, S1, enc(Server.START_IO_OK), 0);
    c.stopIO(K1, 10);
    from(c, S1, enc(Server.STOP_IO_FAILED), 10);
    expect(events(c).map((e) => e.type)).toEqual(["ioStarted", "ioFailed"]);
    expect(c.ioPhase(K1)).toBe("started");
  });
});

describe("ClientEngine: audio", () => {
  it("takes audio only while IO runs, on the server's input streams, with n_bytes checked", () => {
    const c = client({ receivers: streamReceivers });
    connect(c, S1, 0);
    from(c, S1, audio(0, 0, new Uint8Array(4)), 1);
    expect(c.peer(K1)?.stats.discardedAudio).toBe(1);
    c.startIO(K1, 2);
    from(c, S1, audio(0, 0, new Uint8Array(4)), 3); // starting: not yet
    from(c, S1, enc(Server.START_IO_OK), 4);
    events(c);
    from(c, S1, audio(1, 0, new Uint8Array(4)), 5); // one input stream only
    from(c, S1, audio(0, 0, new Uint8Array(4), 3), 6);
    expect(c.peer(K1)?.stats.discardedAudio).toBe(4);
    from(c, S1, audio(0, 0, Uint8Array.from([1, 2, 3, 4])), 7);
    const ev = events(c);
    expect(ev).toHaveLength(1);
    const e = ev[0];
    if (e?.type !== "audio") throw new Error("expected audio");
    expect([e.peer, e.streamIdx, e.status, Array.from(e.payload)]).toEqual([
      K1,
      0,
      RECEIVE_ACCEPTED,
      [1, 2, 3, 4],
    ]);
    // the injected receiver got it
    expect(c.peer(K1)?.receivers[0]?.bytesDelivered).toBe(4);
    expect(c.peerStats(K1)).toMatchObject({ audioIn: 1, bytesReceived: 4, bytesDelivered: 4 });
  });

  it("keeps one audio event object and drops an unpolled one, in order with other events", () => {
    const c = client();
    connect(c, S1, 0);
    c.startIO(K1, 0);
    from(c, S1, enc(Server.START_IO_OK), 0);
    from(c, S1, audio(0, 0, Uint8Array.from([1, 2])), 1);
    from(c, S1, audio(0, 2, Uint8Array.from([3, 4])), 2); // overwrites the unpolled first
    from(c, S1, enc(Server.DISCONNECT), 3);
    const ev = events(c);
    expect(ev.map((e) => e.type)).toEqual(["ioStarted", "audio", "ioStopped", "disconnected"]);
    expect(c.stats.eventsDropped).toBe(1);
    const a = ev[1];
    if (a?.type !== "audio") throw new Error("expected audio");
    expect([a.byteIdx, Array.from(a.payload)]).toEqual([{ hi: 0, lo: 2 }, [3, 4]]);
    // without injected receivers the built-in index check counted, and its counters were kept
    const d = ev[3];
    if (d?.type !== "disconnected") throw new Error("expected disconnected");
    expect(d.stats).toMatchObject({ audioIn: 2, bytesReceived: 4, gapMessages: 0, oldMessages: 0 });
  });
});

describe("ClientEngine: bad input never changes state (property)", () => {
  const K3 = { address: "127.0.0.7", port: 6910 };
  it("random bytes, strangers' messages and out-of-place replies", () => {
    const item = fc.oneof(
      fc.record({ kind: fc.constant(0), bytes: fc.uint8Array({ maxLength: 40 }) }),
      fc.record({ kind: fc.constant(1), which: fc.integer({ min: 0, max: 8 }), seed: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 60 }), fc.boolean(), (items, started) => {
        const c = client();
        connect(c, S1, 0);
        if (started) {
          c.startIO(K1, 0);
          from(c, S1, enc(Server.START_IO_OK), 0);
        }
        sent(c);
        events(c);
        let n = 0;
        for (const it of items) {
          let data: Uint8Array;
          let who = K3;
          if (it.kind === 0) {
            const codec = detectCodec(it.bytes, 0) === "msgpack" ? msgpack : postcard;
            const d = codec.server.decode(it.bytes, 0);
            if (d.ok && d.message.type === "connect") continue; // a stranger's offer is legitimate
            data = it.bytes;
            if (!d.ok) who = it.bytes.length % 2 === 0 ? S1 : K3;
          } else {
            const codec = it.seed % 2 === 0 ? postcard : msgpack;
            const stranger: ServerMessage[] = [
              Server.START_IO_OK,
              Server.STOP_IO_OK,
              Server.START_IO_FAILED,
              Server.HEARTBEAT,
              Server.DISCONNECT,
              { type: "audio", header: { streamIdx: 0, byteIdx: u64(0), nBytes: 0 } },
            ];
            if (it.which < stranger.length) {
              data = enc(stranger[it.which] as ServerMessage, codec);
            } else {
              who = S1; // from the connected server: replies to nothing, bad audio, other formats
              const payload = new Uint8Array(it.seed % 5);
              data =
                it.which === 6
                  ? enc(started ? Server.START_IO_OK : Server.STOP_IO_FAILED, codec)
                  : it.which === 7
                    ? audio(1 + (it.seed % 3), it.seed, payload)
                    : enc(connectMsg(OTHER), codec);
            }
          }
          c.receive(data, who.address, who.port, 1 + n);
          n++;
        }
        expect(c.peerKeys()).toEqual([K1]);
        expect(c.ioPhase(K1)).toBe(started ? "started" : "stopped");
        expect(events(c)).toEqual([]);
        expect(sent(c)).toEqual([]);
        const st = c.peer(K1)?.stats;
        if (st === undefined) throw new Error("lost");
        const fromS1 = st.datagramsIn - (started ? 1 : 0);
        expect(st.bad + st.unexpected + st.discardedAudio).toBe(fromS1);
        expect(c.stats.fromUnknown).toBe(n - fromS1);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
