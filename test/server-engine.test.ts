/**
 * ServerEngine on its own: datagrams are built by hand (postcard or msgpack), fed in at chosen
 * virtual times, and the engine's transmits, events and counters are compared with what
 * BEHAVIOUR.md says, worked out by hand.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StreamSink } from "../shared/audio/receiver.js";
import { RECEIVE_ACCEPTED, RECEIVE_GAP, RECEIVE_OLD, RECEIVE_RESYNC } from "../shared/audio/receiver.js";
import { DEFAULT_TIMING } from "../shared/endpoint/constants.js";
import type { ServerEvent } from "../shared/endpoint/events.js";
import { IndexCheck } from "../shared/endpoint/receivers.js";
import { type ServerEngine as Engine, ServerEngine, type ServerOptions } from "../shared/endpoint/server.js";
import { streamReceiversTo } from "../shared/endpoint/stream-receivers.js";
import type { StreamFormats } from "../shared/format.js";
import { Client, type ClientMessage, type ServerMessage } from "../shared/message.js";
import { u64 } from "../shared/u64.js";
import { type Codec, detectCodec } from "../shared/wire/codec.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { audio, enc } from "./support/client-datagrams.js";
import { messageName } from "./support/virtual-net.js";

const FORMATS: StreamFormats = {
  inputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 32, sampleType: "I16" }],
  outputs: [
    { sampleRate: 8000, channelCount: 2, bufferSize: 16, sampleType: "I24" },
    { sampleRate: 8000, channelCount: 1, bufferSize: 16, sampleType: "U8" },
  ],
};
const CODECS = { postcard, msgpack };
const A = { address: "127.0.0.2", port: 40000 };
const B = { address: "127.0.0.3", port: 40001 };
const KEY_A = "127.0.0.2:40000";
const KEY_B = "127.0.0.3:40001";

function server(over?: Partial<ServerOptions>): ServerEngine {
  return new ServerEngine({ formats: FORMATS, codecs: CODECS, ...over });
}

interface Sent {
  to: string;
  name: string;
  codec: string;
  msg: ServerMessage | undefined;
}

/** Takes every queued transmit, decoded. */
function sent(s: Engine): Sent[] {
  const out: Sent[] = [];
  for (let t = s.pollTransmit(); t !== undefined; t = s.pollTransmit()) {
    const codec = t.data[0] !== undefined && t.data[0] >= 0x80 ? msgpack : postcard;
    const d = codec.server.decode(t.data, 0);
    const msg = d.ok ? d.message : undefined;
    out.push({ to: t.address + ":" + t.port, name: messageName(msg), codec: codec.name, msg });
  }
  return out;
}

function events(s: Engine): ServerEvent[] {
  const out: ServerEvent[] = [];
  for (let e = s.pollEvent(); e !== undefined; e = s.pollEvent()) out.push(e);
  return out;
}

function from(s: Engine, who: { address: string; port: number }, data: Uint8Array, t: number): void {
  s.receive(data, who.address, who.port, t);
}

/** Connects client `who` at time `t` (Discovery then Ok), leaving no transmits or events. */
function connect(
  s: Engine,
  who: { address: string; port: number },
  t: number,
  codec: Codec = postcard,
): void {
  from(s, who, enc(Client.DISCOVERY, codec), t);
  expect(sent(s).map((x) => x.name)).toEqual(["connect"]);
  from(s, who, enc(Client.CONNECTION_OK, codec), t);
  expect(events(s).map((e) => e.type)).toEqual(["connected"]);
}

/** Runs timers from `t0` to `t1` as an event loop would, returning each transmit with its time. */
function runTimers(s: Engine, t1: number): { t: number; to: string; name: string }[] {
  const out: { t: number; to: string; name: string }[] = [];
  for (let i = 0; i < 10000; i++) {
    const d = s.nextDeadline();
    if (d > t1) break;
    s.handleTimeout(d);
    for (const x of sent(s)) out.push({ t: d, to: x.to, name: x.name });
  }
  return out;
}

describe("ServerEngine: offers", () => {
  it("answers Discovery with Connect(formats) in the client's codec, at most once per 250 ms", () => {
    const s = server();
    from(s, A, enc(Client.DISCOVERY), 1000);
    const first = sent(s);
    expect(first).toHaveLength(1);
    expect(first[0]?.to).toBe(KEY_A);
    expect(first[0]?.msg).toEqual({ type: "connect", formats: FORMATS });
    from(s, A, enc(Client.DISCOVERY), 1249);
    expect(sent(s)).toEqual([]);
    expect(s.stats.offersWithheld).toBe(1);
    from(s, A, enc(Client.DISCOVERY), 1250);
    expect(sent(s).map((x) => x.name)).toEqual(["connect"]);
    // another address is offered independently
    from(s, B, enc(Client.DISCOVERY), 1251);
    expect(sent(s).map((x) => x.to)).toEqual([KEY_B]);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it("takes a ConnectionResult only from an address offered to within 2 s", () => {
    const s = server();
    from(s, A, enc(Client.CONNECTION_OK), 0);
    expect(events(s)).toEqual([]);
    expect(s.stats.fromUnknown).toBe(1);
    from(s, A, enc(Client.DISCOVERY), 100);
    sent(s);
    from(s, A, enc(Client.CONNECTION_OK), 2101);
    expect(events(s)).toEqual([]);
    expect(s.connectedCount).toBe(0);
    from(s, A, enc(Client.DISCOVERY), 3000);
    sent(s);
    from(s, A, enc(Client.CONNECTION_OK), 5000);
    expect(events(s)).toEqual([{ type: "connected", peer: KEY_A, codec: "postcard" }]);
    expect(s.connectedCount).toBe(1);
    expect(s.peer(KEY_A)?.address).toBe(A.address);
    // the offer was used up: no Connect to a connected client, and it is not offered again
    from(s, A, enc(Client.DISCOVERY), 6000);
    expect(sent(s)).toEqual([]);
  });

  it("forgets an offer answered with Failure and may offer again after 250 ms", () => {
    const s = server();
    from(s, A, enc(Client.DISCOVERY), 0);
    sent(s);
    from(s, A, enc(Client.CONNECTION_FAILED), 10);
    expect(events(s)).toEqual([{ type: "declined", peer: KEY_A, result: "failure" }]);
    from(s, A, enc(Client.CONNECTION_OK), 20);
    expect(events(s)).toEqual([]); // offer forgotten
    from(s, A, enc(Client.DISCOVERY), 250);
    expect(sent(s).map((x) => x.name)).toEqual(["connect"]);
  });

  it("does not offer for 10 s to an address that refused", () => {
    const s = server();
    from(s, A, enc(Client.DISCOVERY), 0);
    sent(s);
    from(s, A, enc(Client.CONNECTION_REFUSED), 5);
    expect(events(s)).toEqual([{ type: "declined", peer: KEY_A, result: "refusal" }]);
    for (let t = 250; t < 10005; t += 250) {
      from(s, A, enc(Client.DISCOVERY), t);
      expect(sent(s)).toEqual([]);
    }
    from(s, B, enc(Client.DISCOVERY), 300);
    expect(sent(s).map((x) => x.to)).toEqual([KEY_B]);
    from(s, A, enc(Client.DISCOVERY), 10005);
    expect(sent(s).map((x) => x.name)).toEqual(["connect"]);
  });

  it("does not offer while full; an Ok that arrives once full gets Disconnect", () => {
    const s = server({ maxClients: 1 });
    from(s, B, enc(Client.DISCOVERY), 0);
    expect(sent(s).map((x) => x.name)).toEqual(["connect"]);
    connect(s, A, 10);
    from(s, B, enc(Client.CONNECTION_OK), 20);
    expect(events(s)).toEqual([]);
    expect(sent(s).map((x) => [x.to, x.name])).toEqual([[KEY_B, "disconnect"]]);
    from(s, B, enc(Client.DISCOVERY), 300);
    expect(sent(s)).toEqual([]);
    expect(s.connectedCount).toBe(1);
  });

  it("keeps offers in a bounded table: a flood evicts the oldest offer", () => {
    const s = server({ maxOffers: 2 });
    from(s, A, enc(Client.DISCOVERY), 0);
    for (let i = 0; i < 1000; i++)
      from(s, { address: "127.1.0." + (i % 250), port: 1000 + i }, enc(Client.DISCOVERY), 1 + i / 1000);
    // 1001 offers, but the transmit queue is bounded too: the oldest were dropped and counted
    expect(sent(s)).toHaveLength(64);
    expect(s.stats.transmitsDropped).toBe(1001 - 64);
    from(s, A, enc(Client.CONNECTION_OK), 5);
    expect(events(s)).toEqual([]); // A's offer was evicted
    expect(s.stats.fromUnknown).toBe(1);
    // the newest survive
    from(s, { address: "127.1.0." + (999 % 250), port: 1999 }, enc(Client.CONNECTION_OK), 6);
    expect(events(s).map((e) => e.type)).toEqual(["connected"]);
  });
});

describe("ServerEngine: liveness", () => {
  it("sends a Heartbeat every 100 ms while idle, and keeps the client while it hears from it", () => {
    const s = server();
    connect(s, A, 10);
    // the client sends a heartbeat every 100 ms, at 60, 160, ...
    const out: { t: number; name: string }[] = [];
    for (let t = 60; t <= 1060; t += 100) {
      for (const x of runTimers(s, t - 1)) out.push({ t: x.t, name: x.name });
      from(s, A, enc(Client.HEARTBEAT), t);
    }
    for (const x of runTimers(s, 1110)) out.push({ t: x.t, name: x.name });
    expect(out).toEqual(
      [110, 210, 310, 410, 510, 610, 710, 810, 910, 1010, 1110].map((t) => ({ t, name: "heartbeat" })),
    );
    expect(s.connectedCount).toBe(1);
  });

  it("times a silent client out at 600 ms (heartbeats at 100..500 only)", () => {
    const s = server();
    connect(s, A, 10);
    const out = runTimers(s, 2000);
    expect(out.map((x) => x.t)).toEqual([110, 210, 310, 410, 510]);
    const ev = events(s);
    expect(ev.map((e) => e.type)).toEqual(["timedOut"]);
    expect(s.connectedCount).toBe(0);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it("counts audio as liveness and sends no heartbeat while it writes audio", () => {
    const s = server();
    connect(s, A, 0);
    from(s, A, enc(Client.START_IO), 0);
    sent(s);
    events(s);
    const out = new Uint8Array(100);
    const log: number[] = [];
    // audio both ways every 20 ms until 1000, then silence
    for (let t = 20; t <= 1000; t += 20) {
      for (const x of runTimers(s, t - 1)) log.push(x.t);
      from(s, A, audio(0, (t / 20 - 1) * 6, new Uint8Array(6)), t);
      expect(s.writeAudio(KEY_A, 0, u64((t / 20 - 1) * 4), new Uint8Array(4), out, 0)).toBe(17 + 4);
    }
    for (const x of runTimers(s, 1600)) log.push(x.t);
    // no heartbeat while audio flows; the first idle check after the last write is at 1100
    // (marks at 100, 200, ..., 1000 each found audio sent), then heartbeats every 100 ms,
    // until the timeout 600 ms after the last audio received (1000 + 600).
    expect(log).toEqual([1100, 1200, 1300, 1400, 1500]);
    expect(
      events(s)
        .map((e) => e.type)
        .filter((t) => t !== "audio"),
    ).toEqual(["ioStopped", "timedOut"]);
  });

  it("ends a connection at once on Disconnect; Disconnect from a stranger is ignored", () => {
    const s = server();
    connect(s, A, 0);
    from(s, B, enc(Client.DISCONNECT), 5);
    expect(events(s)).toEqual([]);
    expect(s.stats.fromUnknown).toBe(1);
    from(s, A, enc(Client.DISCONNECT), 7);
    const ev = events(s);
    expect(ev.map((e) => e.type)).toEqual(["disconnected"]);
    expect(ev[0]).toMatchObject({ peer: KEY_A, by: "peer" });
    expect(s.connectedCount).toBe(0);
  });

  it("close() sends Disconnect to every client", () => {
    const s = server();
    connect(s, A, 0);
    connect(s, B, 0);
    s.close(50);
    expect(
      sent(s)
        .map((x) => [x.to, x.name])
        .sort(),
    ).toEqual([
      [KEY_A, "disconnect"],
      [KEY_B, "disconnect"],
    ]);
    expect(events(s).map((e) => e.type)).toEqual(["disconnected", "disconnected"]);
    expect(s.connectedCount).toBe(0);
  });

  it("a connected client's unicast Discovery neither refreshes it nor gets an offer", () => {
    const s = server();
    connect(s, A, 0);
    for (let t = 100; t <= 600; t += 100) {
      runTimers(s, t - 1);
      from(s, A, enc(Client.DISCOVERY), t);
      expect(sent(s).filter((x) => x.name === "connect")).toEqual([]);
    }
    runTimers(s, 600);
    expect(events(s).map((e) => e.type)).toEqual(["timedOut"]);
    from(s, A, enc(Client.DISCOVERY), 650);
    expect(sent(s).map((x) => x.name)).toEqual(["connect"]);
  });
});

describe("ServerEngine: IO", () => {
  it("calls onStartIO before queueing Start(Ok); Start and Stop are idempotent", () => {
    const calls: string[] = [];
    let s: Engine;
    s = server({
      onStartIO: (peer, now) => {
        calls.push("start " + peer + " " + now);
        expect(s.pollTransmit()).toBeUndefined(); // nothing queued yet: the Ok comes after
        return "ok";
      },
      onStopIO: (peer, now) => calls.push("stop " + peer + " " + now),
    });
    connect(s, A, 0);
    from(s, A, enc(Client.STOP_IO), 10); // stop while stopped: success again
    expect(sent(s).map((x) => x.name)).toEqual(["ioResult:stop:ok"]);
    expect(events(s)).toEqual([]);
    from(s, A, enc(Client.START_IO), 20);
    expect(sent(s).map((x) => x.name)).toEqual(["ioResult:start:ok"]);
    expect(events(s)).toEqual([{ type: "ioStarted", peer: KEY_A }]);
    expect(s.peer(KEY_A)?.streaming).toBe(true);
    expect(s.streamingCount).toBe(1);
    from(s, A, enc(Client.START_IO), 30); // repeated start: Ok again, no new start
    expect(sent(s).map((x) => x.name)).toEqual(["ioResult:start:ok"]);
    expect(events(s)).toEqual([]);
    from(s, A, enc(Client.STOP_IO), 40);
    expect(sent(s).map((x) => x.name)).toEqual(["ioResult:stop:ok"]);
    expect(events(s)).toEqual([{ type: "ioStopped", peer: KEY_A }]);
    expect(calls).toEqual(["start " + KEY_A + " 20", "stop " + KEY_A + " 40"]);
    expect(s.streamingCount).toBe(0);
  });

  it("answers Start(Err(Failure)) at the streaming limit, and Ok once a slot frees", () => {
    const s = server({ maxStreamingClients: 1 });
    connect(s, A, 0);
    connect(s, B, 0);
    from(s, A, enc(Client.START_IO), 1);
    from(s, B, enc(Client.START_IO), 2);
    expect(sent(s).map((x) => [x.to, x.name])).toEqual([
      [KEY_A, "ioResult:start:ok"],
      [KEY_B, "ioResult:start:failure"],
    ]);
    from(s, A, enc(Client.STOP_IO), 3);
    from(s, B, enc(Client.START_IO), 4);
    expect(sent(s).map((x) => [x.to, x.name])).toEqual([
      [KEY_A, "ioResult:stop:ok"],
      [KEY_B, "ioResult:start:ok"],
    ]);
  });

  it("sends the outcome onStartIO returns", () => {
    let answer: "failure" | "refusal" = "refusal";
    const s = server({ onStartIO: () => answer });
    connect(s, A, 0);
    from(s, A, enc(Client.START_IO), 1);
    answer = "failure";
    from(s, A, enc(Client.START_IO), 2);
    expect(sent(s).map((x) => x.name)).toEqual(["ioResult:start:refusal", "ioResult:start:failure"]);
    expect(events(s)).toEqual([]);
    expect(s.peer(KEY_A)?.streaming).toBe(false);
  });

  it("ignores requests from an address that is not connected", () => {
    const s = server();
    from(s, A, enc(Client.START_IO), 0);
    from(s, A, enc(Client.STOP_IO), 0);
    from(s, A, enc(Client.HEARTBEAT), 0);
    expect(sent(s)).toEqual([]);
    expect(events(s)).toEqual([]);
    expect(s.stats.fromUnknown).toBe(3);
    expect(s.stats.datagramsIn).toBe(3);
  });

  it("stops IO before reporting a disconnect", () => {
    const stops: string[] = [];
    const s = server({ onStopIO: (p) => stops.push(p) });
    connect(s, A, 0);
    from(s, A, enc(Client.START_IO), 1);
    events(s);
    from(s, A, enc(Client.DISCONNECT), 2);
    expect(events(s).map((e) => e.type)).toEqual(["ioStopped", "disconnected"]);
    expect(stops).toEqual([KEY_A]);
    expect(s.streamingCount).toBe(0);
  });
});

describe("ServerEngine: audio", () => {
  it("takes audio only while streaming, checks the stream and n_bytes, and feeds injected receivers", () => {
    const got: string[] = [];
    const sink = (peer: string, idx: number): StreamSink => ({
      data: (o, buf, start, len) =>
        got.push(
          peer + " s" + idx + " data " + o + " " + Array.from(buf.subarray(start, start + len)).join(","),
        ),
      silence: (o, len) => got.push(peer + " s" + idx + " silence " + o + " " + len),
    });
    const s = server({ receivers: streamReceiversTo(sink) });
    connect(s, A, 0);
    const p6 = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    from(s, A, audio(0, 0, p6), 1); // before Start
    expect(s.peer(KEY_A)?.stats.discardedAudio).toBe(1);
    from(s, A, enc(Client.START_IO), 2);
    sent(s);
    events(s);
    from(s, A, audio(2, 0, p6), 3); // stream 2: only outputs 0 and 1 exist
    from(s, A, audio(0, 0, p6, 7), 4); // n_bytes says 7, 6 present
    from(s, A, audio(0, 0, p6, 5), 5); // n_bytes says 5, 6 present
    expect(events(s)).toEqual([]);
    expect(s.peer(KEY_A)?.stats.discardedAudio).toBe(4);
    from(s, A, audio(0, 0, p6), 6);
    const ev = events(s);
    expect(ev).toHaveLength(1);
    const e = ev[0];
    if (e?.type !== "audio") throw new Error("expected audio");
    expect(e.peer).toBe(KEY_A);
    expect(e.streamIdx).toBe(0);
    expect(e.byteIdx).toEqual({ hi: 0, lo: 0 });
    expect(Array.from(e.payload)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(e.status).toBe(RECEIVE_ACCEPTED);
    // I24: a gap of 3 bytes after byte 6 = one sample of silence
    from(s, A, audio(0, 9, Uint8Array.from([7, 8, 9])), 7);
    expect(events(s).map((x) => (x.type === "audio" ? x.status : -1))).toEqual([RECEIVE_GAP]);
    from(s, A, audio(1, 0, Uint8Array.from([0x80])), 8);
    expect(got).toEqual([
      KEY_A + " s0 data 0 1,2,3,4,5,6",
      KEY_A + " s0 silence 6 3",
      KEY_A + " s0 data 9 7,8,9",
      KEY_A + " s1 data 0 128",
    ]);
    const st = s.peerStats(KEY_A);
    expect(st).toMatchObject({
      audioIn: 3,
      discardedAudio: 4,
      gapMessages: 1,
      bytesLost: 3,
      samplesPadded: 1,
    });
    // duplicates are counted by the receiver
    from(s, A, audio(0, 0, p6), 9);
    expect(s.peerStats(KEY_A)?.oldMessages).toBe(1);
    // counters survive the end of IO
    from(s, A, enc(Client.STOP_IO), 10);
    expect(s.peer(KEY_A)?.stats).toMatchObject({
      audioIn: 4,
      oldMessages: 1,
      gapMessages: 1,
      samplesPadded: 1,
    });
  });

  it("injected receivers without a sink still count whole samples", () => {
    const asked: string[] = [];
    const s = server({
      receivers: streamReceiversTo((peer, idx, f) => {
        asked.push(peer + " " + idx + " " + f.sampleType);
        return undefined;
      }),
    });
    connect(s, A, 0);
    from(s, A, enc(Client.START_IO), 1);
    expect(asked).toEqual([KEY_A + " 0 I24", KEY_A + " 1 U8"]);
    from(s, A, audio(0, 0, new Uint8Array(7)), 2);
    expect(s.peerStats(KEY_A)).toMatchObject({ bytesReceived: 7, bytesDelivered: 6 });
  });

  it("without injected receivers, only checks byte indices: counts gaps (bytes skipped), old messages, jumps", () => {
    const s = server();
    connect(s, A, 0);
    from(s, A, enc(Client.START_IO), 1);
    sent(s);
    events(s);
    const status = (streamIdx: number, byteIdx: number, n: number, t: number): number => {
      from(s, A, audio(streamIdx, byteIdx, new Uint8Array(n)), t);
      const ev = events(s);
      const e = ev[0];
      if (ev.length !== 1 || e?.type !== "audio") throw new Error("expected one audio event");
      return e.status;
    };
    expect(status(0, 0, 6, 2)).toBe(RECEIVE_ACCEPTED);
    expect(status(0, 6, 4, 3)).toBe(RECEIVE_ACCEPTED);
    // 5 bytes skipped (10..14): counted as such, not rounded to whole I24 samples
    expect(status(0, 15, 3, 4)).toBe(RECEIVE_GAP);
    // reordered and duplicated: still an event (the firmware's loopback reflects it), counted old
    expect(status(0, 12, 3, 5)).toBe(RECEIVE_OLD);
    expect(status(0, 15, 3, 6)).toBe(RECEIVE_OLD);
    expect(status(0, 18, 0, 7)).toBe(RECEIVE_ACCEPTED);
    // a jump of 2^32 bytes or more is not counted as loss; the stream continues from there
    expect(status(0, 2 ** 40, 2, 8)).toBe(RECEIVE_RESYNC);
    expect(status(0, 2 ** 40 + 2, 2, 9)).toBe(RECEIVE_ACCEPTED);
    expect(status(0, 30, 2, 10)).toBe(RECEIVE_OLD);
    // the other output stream has its own index
    expect(status(1, 0, 1, 11)).toBe(RECEIVE_ACCEPTED);
    expect(status(1, 4, 1, 12)).toBe(RECEIVE_GAP);
    const expected = {
      audioIn: 11,
      gapMessages: 2,
      oldMessages: 3,
      resyncs: 1,
      bytesLost: 5 + 3,
      bytesReceived: 6 + 4 + 3 + 0 + 2 + 2 + 1 + 1,
      // what only a full receiver works out
      bytesDelivered: 0,
      bytesDropped: 0,
      samplesPadded: 0,
      invalidMessages: 0,
    };
    expect(s.peerStats(KEY_A)).toMatchObject(expected);
    expect(s.peer(KEY_A)?.stats.gapMessages).toBe(0); // live counters: ended IO sessions only
    expect(s.peer(KEY_A)?.receivers).toHaveLength(2);
    from(s, A, enc(Client.STOP_IO), 13);
    expect(s.peer(KEY_A)?.receivers).toHaveLength(0);
    expect(s.peer(KEY_A)?.stats).toMatchObject(expected);
    expect(s.peerStats(KEY_A)).toMatchObject(expected);
    // a new IO session starts at byte 0 again; counters keep adding up
    from(s, A, enc(Client.START_IO), 14);
    events(s);
    expect(status(0, 0, 3, 15)).toBe(RECEIVE_ACCEPTED);
    expect(s.peerStats(KEY_A)).toMatchObject({ audioIn: 12, bytesReceived: expected.bytesReceived + 3 });
  });

  it("writes audio in the client's codec, only while streaming and on an input stream", () => {
    const s = server();
    connect(s, A, 0);
    const out = new Uint8Array(64);
    const payload = Uint8Array.from([9, 8, 7, 6]);
    expect(s.writeAudio(KEY_A, 0, u64(0), payload, out, 0)).toBe(0);
    from(s, A, enc(Client.START_IO), 1);
    expect(s.writeAudio(KEY_A, 1, u64(0), payload, out, 0)).toBe(0); // one input stream only
    expect(s.writeAudio("127.0.0.9:1", 0, u64(0), payload, out, 0)).toBe(0);
    const n = s.writeAudio(KEY_A, 0, u64(2 ** 40 + 5), payload, out, 3);
    expect(n).toBe(21);
    const d = postcard.server.decode(out.subarray(3, 3 + n), 0);
    expect(d.ok && d.message).toEqual({
      type: "audio",
      header: { streamIdx: 0, byteIdx: { hi: 256, lo: 5 }, nBytes: 4 },
    });
    expect(Array.from(out.subarray(3 + 17, 3 + n))).toEqual([9, 8, 7, 6]);
    expect(() => s.writeAudio(KEY_A, 0, u64(0), payload, out, 50)).toThrow(/does not fit/);
    expect(() => s.writeAudio(KEY_A, 0, u64(0), payload, out, -1)).toThrow(/does not fit/);
    expect(s.peer(KEY_A)?.stats.audioOut).toBe(1);
  });
});

describe("ServerEngine: codecs", () => {
  it("answers each client in the codec it last used (msgpack, then postcard)", () => {
    const s = server();
    from(s, A, enc(Client.DISCOVERY, msgpack), 0);
    const offer = sent(s);
    expect(offer.map((x) => [x.codec, x.name])).toEqual([["msgpack", "connect"]]);
    expect(offer[0]?.msg).toEqual({ type: "connect", formats: FORMATS });
    from(s, A, enc(Client.CONNECTION_OK, msgpack), 1);
    expect(events(s)).toEqual([{ type: "connected", peer: KEY_A, codec: "msgpack" }]);
    runTimers(s, 101);
    expect(s.peer(KEY_A)?.codec.name).toBe("msgpack");
    from(s, A, enc(Client.HEARTBEAT, postcard), 150);
    expect(s.peer(KEY_A)?.codec.name).toBe("postcard");
    from(s, A, enc(Client.START_IO, postcard), 160);
    expect(sent(s).map((x) => [x.codec, x.name])).toEqual([["postcard", "ioResult:start:ok"]]);
    from(s, A, enc(Client.STOP_IO, msgpack), 170);
    expect(sent(s).map((x) => [x.codec, x.name])).toEqual([["msgpack", "ioResult:stop:ok"]]);
  });

  it("treats a datagram in a codec it lacks as bad", () => {
    const s = server({ codecs: { postcard } });
    from(s, A, enc(Client.DISCOVERY, msgpack), 0);
    expect(sent(s)).toEqual([]);
    expect(s.stats.badFromUnknown).toBe(1);
    connect(s, A, 1);
    from(s, A, enc(Client.HEARTBEAT, msgpack), 2);
    expect(s.peer(KEY_A)?.stats.bad).toBe(1);
    expect(s.peer(KEY_A)?.codec.name).toBe("postcard");
  });

  it("validates its formats and timing periods, naming the bad one", () => {
    expect(() => server({ timing: { heartbeatMs: 0 } })).toThrow(/"heartbeatMs"/);
    expect(() => server({ timing: { timeoutMs: Number.NaN } })).toThrow(/"timeoutMs"/);
    expect(() => server({ timing: { retransmitMs: -1 } })).toThrow(/"retransmitMs"/);
    // waits may be zero; a field given as undefined keeps its default
    expect(server({ timing: { offerIntervalMs: 0, heartbeatMs: undefined } }).timing).toEqual({
      ...DEFAULT_TIMING,
      offerIntervalMs: 0,
    });
    expect(server({ timing: { heartbeatMs: 50 } }).timing.heartbeatMs).toBe(50);
    expect(
      () =>
        new ServerEngine({
          formats: {
            inputs: [{ sampleRate: 0, channelCount: 1, bufferSize: 0, sampleType: "U8" }],
            outputs: [],
          },
          codecs: CODECS,
        }),
    ).toThrow(/"formats" 0 /);
    const bad = { sampleRate: 8000, channelCount: 0, bufferSize: 16, sampleType: "U8" as const };
    expect(() => server({ formats: { inputs: FORMATS.inputs, outputs: [bad] } })).toThrow(/"formats" 1 /);
    expect(server().timing).toEqual(DEFAULT_TIMING);
  });
});

describe("ServerEngine: bad input never changes state (property)", () => {
  type Input =
    | { kind: "random"; bytes: Uint8Array; fromA: boolean }
    | { kind: "msg"; which: number; fromA: boolean; seed: number };

  const input: fc.Arbitrary<Input> = fc.oneof(
    fc.record({
      kind: fc.constant("random" as const),
      bytes: fc.uint8Array({ maxLength: 40 }),
      fromA: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("msg" as const),
      which: fc.integer({ min: 0, max: 7 }),
      fromA: fc.boolean(),
      seed: fc.nat(),
    }),
  );

  /** The message a server would decode from `data`, or undefined. */
  function decoded(data: Uint8Array): ClientMessage | undefined {
    const d = (detectCodec(data, 0) === "msgpack" ? msgpack : postcard).client.decode(data, 0);
    return d.ok ? d.message : undefined;
  }

  /**
   * A datagram that must change nothing: bad input, or a message out of place; undefined when
   * random bytes happen to form a Discovery (a stranger's Discovery legitimately gets an offer).
   */
  function datagram(
    i: Input,
    streaming: boolean,
  ): { data: Uint8Array; who: { address: string; port: number } } | undefined {
    if (i.kind === "random") {
      const m = decoded(i.bytes);
      if (m === undefined) return { data: i.bytes, who: i.fromA ? A : B };
      return m.type === "discovery" ? undefined : { data: i.bytes, who: B };
    }
    const codec = i.seed % 2 === 0 ? postcard : msgpack;
    if (!i.fromA) {
      // anything but Discovery from a stranger (no offer was made to it)
      const msgs: ClientMessage[] = [
        Client.CONNECTION_OK,
        Client.CONNECTION_FAILED,
        Client.CONNECTION_REFUSED,
        Client.START_IO,
        Client.STOP_IO,
        Client.HEARTBEAT,
        Client.DISCONNECT,
        { type: "audio", header: { streamIdx: 0, byteIdx: u64(0), nBytes: 0 } },
      ];
      return { data: enc(msgs[i.which] as ClientMessage, codec), who: B };
    }
    // from the connected client: out-of-place messages only
    const payload = new Uint8Array(i.seed % 7);
    switch (i.which % 4) {
      case 0:
        return { data: enc(Client.CONNECTION_FAILED, codec), who: A };
      case 1:
        return { data: enc(Client.CONNECTION_REFUSED, codec), who: A };
      case 2:
        return { data: audio(2 + (i.seed % 5), i.seed, payload, payload.length, codec), who: A };
      default:
        return streaming
          ? { data: audio(i.seed % 2, i.seed, payload, payload.length + 1 + (i.seed % 3), codec), who: A }
          : { data: audio(i.seed % 2, i.seed, payload, payload.length, codec), who: A };
    }
  }

  for (const streaming of [false, true]) {
    it(`random datagram sequences (client ${streaming ? "streaming" : "connected"})`, () => {
      fc.assert(
        fc.property(fc.array(input, { maxLength: 60 }), (inputs) => {
          const s = server();
          connect(s, A, 0);
          if (streaming) {
            from(s, A, enc(Client.START_IO), 0);
            sent(s);
            events(s);
          }
          const before = { ...s.stats };
          let t = 1;
          let n = 0;
          for (const i of inputs) {
            const d = datagram(i, streaming);
            if (d === undefined) continue;
            s.receive(d.data, d.who.address, d.who.port, t);
            t += 1;
            n++;
          }
          expect(events(s)).toEqual([]);
          expect(sent(s).filter((x) => x.name !== "heartbeat")).toEqual([]);
          expect(s.peerKeys()).toEqual([KEY_A]);
          expect(s.peer(KEY_A)?.streaming).toBe(streaming);
          expect(s.streamingCount).toBe(streaming ? 1 : 0);
          const st = s.peer(KEY_A)?.stats;
          if (st === undefined) throw new Error("peer lost");
          // every datagram is counted once in datagramsIn and once as ignored
          expect(s.stats.datagramsIn - before.datagramsIn).toBe(n);
          const fromA = st.datagramsIn - (streaming ? 1 : 0);
          expect(st.bad + st.unexpected + st.discardedAudio).toBe(fromA);
          expect(s.stats.fromUnknown - before.fromUnknown).toBe(n - fromA);
        }),
        { numRuns: 300, seed: 42 },
      );
    });
  }
});

describe("IndexCheck (the engines' receiver when none is injected)", () => {
  /** What it must return and count, worked out with plain numbers (exact below 2^53). */
  function oracle(msgs: { idx: number; len: number }[]) {
    let expected = 0;
    const out = {
      statuses: [] as number[],
      gapMessages: 0,
      oldMessages: 0,
      resyncs: 0,
      bytesLost: 0,
      bytesReceived: 0,
    };
    for (const m of msgs) {
      if (m.idx < expected) {
        out.oldMessages++;
        out.statuses.push(RECEIVE_OLD);
        continue;
      }
      const gap = m.idx - expected;
      out.bytesReceived += m.len;
      expected = m.idx + m.len;
      if (gap === 0) out.statuses.push(RECEIVE_ACCEPTED);
      else if (gap >= 2 ** 32) {
        out.resyncs++;
        out.statuses.push(RECEIVE_RESYNC);
      } else {
        out.gapMessages++;
        out.bytesLost += gap;
        out.statuses.push(RECEIVE_GAP);
      }
    }
    return { out, expected };
  }

  it("crosses the 2^32 boundary of the low word", () => {
    const r = new IndexCheck();
    const buf = new Uint8Array(8);
    expect(r.receiveFrom(u64(2 ** 32 - 3), buf, 0, 5)).toBe(RECEIVE_GAP);
    expect(r.expected).toEqual({ hi: 1, lo: 2 });
    expect(r.receiveFrom(u64(2 ** 32 + 2), buf, 0, 1)).toBe(RECEIVE_ACCEPTED);
    expect(r.receiveFrom(u64(2 ** 32 - 1), buf, 0, 1)).toBe(RECEIVE_OLD);
    expect(r.bytesLost).toBe(2 ** 32 - 3);
  });

  it("agrees with a plain-number model on random message sequences", () => {
    const near = fc.oneof(
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 2 ** 32 - 100, max: 2 ** 32 + 100 }),
      fc.integer({ min: 2 ** 40, max: 2 ** 40 + 100 }),
    );
    const msg = fc.record({ idx: near, len: fc.integer({ min: 0, max: 40 }) });
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 50 }), (msgs) => {
        const r = new IndexCheck();
        const buf = new Uint8Array(40);
        const statuses = msgs.map((m) => r.receiveFrom(u64(m.idx), buf, 0, m.len));
        const { out, expected } = oracle(msgs);
        const { statuses: want, ...counts } = out;
        expect(statuses).toEqual(want);
        expect({
          gapMessages: r.gapMessages,
          oldMessages: r.oldMessages,
          resyncs: r.resyncs,
          bytesLost: r.bytesLost,
          bytesReceived: r.bytesReceived,
        }).toEqual(counts);
        expect(r.expected).toEqual(u64(expected));
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
