/**
 * The engines' audio path as the firmware runs it, and the "Bad input" rules of BEHAVIOUR.md
 * on it: the postcard shortcut (readAudio / writeAudio / retagAudio) agrees byte for byte with
 * the general codec; an injected audio sink gets each valid message synchronously (no event);
 * echoAudio turns a datagram around in place; and audio that makes no sense in the current
 * state (before IO start, wrong n_bytes, stream out of range) changes nothing: not the reply
 * codec, not the liveness deadline, not a stream's expected byte index.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClientEngine } from "../shared/endpoint/client.js";
import type { AudioSink } from "../shared/endpoint/endpoint.js";
import type { IndexCheck } from "../shared/endpoint/receivers.js";
import { ServerEngine, type ServerOptions } from "../shared/endpoint/server.js";
import type { StreamFormats } from "../shared/format.js";
import { type AudioHeader, Client, type ServerMessage } from "../shared/message.js";
import { u64, u64ToNumber } from "../shared/u64.js";
import type { Codec } from "../shared/wire/codec.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { postcardForServer } from "../shared/wire/postcard-server.js";
import { audio, enc } from "./support/client-datagrams.js";

const F = { sampleRate: 8000, channelCount: 1, bufferSize: 16, sampleType: "I16" as const };
const FORMATS: StreamFormats = { inputs: [F, F], outputs: [F, F] };
const A = { address: "127.0.0.2", port: 40000 };
const KEY = "127.0.0.2:40000";

/** An audio datagram of `n` bytes (byte k of the stream is k & 0xff), its header saying `nBytes`. */
function clientAudio(
  streamIdx: number,
  byteIdx: number,
  n: number,
  nBytes = n,
  codec: Codec = postcard,
): Uint8Array {
  const payload = new Uint8Array(n);
  for (let i = 0; i < n; i++) payload[i] = (byteIdx + i) & 0xff;
  return audio(streamIdx, byteIdx, payload, nBytes, codec);
}

/** A server with client A connected in `codec` at t = 0 (and streaming when `start`). */
function connected(codec: Codec, start: boolean, over?: Partial<ServerOptions>): ServerEngine {
  const s = new ServerEngine({
    formats: FORMATS,
    codecs: { postcard, msgpack },
    maxStreamingClients: 2,
    ...over,
  });
  s.receive(enc(Client.DISCOVERY, codec), A.address, A.port, 0);
  s.receive(enc(Client.CONNECTION_OK, codec), A.address, A.port, 0);
  if (start) s.receive(enc(Client.START_IO, codec), A.address, A.port, 0);
  while (s.pollTransmit() !== undefined);
  while (s.pollEvent() !== undefined);
  return s;
}

/** What bad input must leave alone: the reply codec, the liveness time, the expected byte indices. */
function state(s: ServerEngine) {
  const p = s.peer(KEY) as NonNullable<ReturnType<ServerEngine["peer"]>>;
  return {
    codec: p.codec.name,
    lastHeardMs: (p as unknown as { lastHeardMs: number }).lastHeardMs,
    nextDeadline: s.nextDeadline(),
    streaming: p.streaming,
    expected: p.receivers.map((r) => u64ToNumber((r as IndexCheck).expected)),
  };
}

describe("postcard audio shortcut", () => {
  const header = fc.record({
    streamIdx: fc.nat({ max: 0xffffffff }),
    hi: fc.nat({ max: 0xffffffff }),
    lo: fc.nat({ max: 0xffffffff }),
    nBytes: fc.nat({ max: 0xffffffff }),
  });

  it("readAudio reads what the general decoder reads, or -1 exactly where it is not a one-byte-tag audio header", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 3 }), (bytes, at) => {
        for (const [half, tag] of [
          [postcard.client, 6],
          [postcard.server, 7],
        ] as const) {
          const into: AudioHeader = { streamIdx: -1, byteIdx: { hi: -1, lo: -1 }, nBytes: -1 };
          const buf = new Uint8Array(bytes.length + at);
          buf.set(bytes, at);
          const end = (half.readAudio as NonNullable<typeof half.readAudio>)(buf, at, into);
          const d = half.decode(buf, at);
          const isAudio = buf[at] === tag && d.ok && d.message.type === "audio";
          expect(end >= 0).toBe(isAudio);
          if (isAudio && d.ok && d.message.type === "audio") {
            expect(end).toBe(d.end);
            expect(into).toEqual(d.message.header);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("writeAudio writes the general encoder's bytes; retagAudio turns a client's header into the server's", () => {
    fc.assert(
      fc.property(header, fc.nat({ max: 5 }), (h, at) => {
        const m = {
          type: "audio" as const,
          header: { streamIdx: h.streamIdx, byteIdx: { hi: h.hi, lo: h.lo }, nBytes: h.nBytes },
        };
        for (const [half, general] of [
          [postcard.client, enc(m)],
          [
            postcard.server,
            (() => {
              const b = new Uint8Array(17);
              postcard.server.encode(m as ServerMessage, b, 0);
              return b;
            })(),
          ],
        ] as const) {
          const out = new Uint8Array(at + 17);
          const w = half.writeAudio as NonNullable<typeof half.writeAudio>;
          expect(w(out, at, h.streamIdx, { hi: h.hi, lo: h.lo }, h.nBytes)).toBe(17);
          expect(Array.from(out.subarray(at))).toEqual(Array.from(general));
        }
        const turned = enc(m);
        (postcard.server.retagAudio as NonNullable<typeof postcard.server.retagAudio>)(turned, 0);
        const d = postcard.server.decode(turned, 0);
        expect(d.ok && d.message).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it("the firmware's one-sided postcard has the halves of the shortcut a server uses", () => {
    expect(postcardForServer.client.readAudio).toBe(postcard.client.readAudio);
    expect(postcardForServer.server.writeAudio).toBe(postcard.server.writeAudio);
    expect(postcardForServer.server.retagAudio).toBe(postcard.server.retagAudio);
    expect(msgpack.client.readAudio).toBeUndefined();
    expect(msgpack.server.writeAudio).toBeUndefined();
  });
});

describe("audio sink and echoAudio", () => {
  it("hands each valid audio message to the sink inside receive(), with no audio event", () => {
    const got: { peer: string; stream: number; byteIdx: number; payload: number[]; status: number }[] = [];
    const sink: AudioSink = (peer, stream, byteIdx, data, start, status) =>
      got.push({
        peer: peer.key,
        stream,
        byteIdx: u64ToNumber(byteIdx),
        payload: Array.from(data.subarray(start)),
        status,
      });
    for (const codec of [postcard, msgpack]) {
      got.length = 0;
      const s = connected(codec, true, { onAudio: sink });
      s.receive(clientAudio(1, 0, 4, 4, codec), A.address, A.port, 10);
      s.receive(clientAudio(1, 8, 2, 2, codec), A.address, A.port, 11);
      expect(s.pollEvent()).toBeUndefined();
      expect(got).toEqual([
        { peer: KEY, stream: 1, byteIdx: 0, payload: [0, 1, 2, 3], status: 0 },
        { peer: KEY, stream: 1, byteIdx: 8, payload: [8, 9], status: 1 },
      ]);
    }
  });

  it("echoAudio turns a postcard datagram around in place on the same stream; not msgpack, not another stream, not after Stop", () => {
    let s: ServerEngine | undefined;
    const turned: number[][] = [];
    const results: boolean[] = [];
    const sink: AudioSink = (peer, stream, _b, data, start) => {
      results.push((s as ServerEngine).echoAudio(peer, stream === 1 ? 0 : stream, data, start));
      turned.push(Array.from(data));
    };
    s = connected(postcard, true, { onAudio: sink });
    const d = clientAudio(0, 512, 3);
    s.receive(d, A.address, A.port, 5);
    expect(results).toEqual([true]);
    const back = postcard.server.decode(d, 0);
    expect(back.ok && back.message).toEqual({
      type: "audio",
      header: { streamIdx: 0, byteIdx: u64(512), nBytes: 3 },
    });
    expect(Array.from(d.subarray(17))).toEqual([0, 1, 2]);
    expect(s.peerStats(KEY)?.audioOut).toBe(1);
    s.receive(clientAudio(1, 0, 3), A.address, A.port, 6); // asks to echo on another stream
    expect(results[1]).toBe(false);
    s.receive(enc(Client.STOP_IO), A.address, A.port, 7);
    expect(s.peer(KEY)?.streaming).toBe(false);
    s = connected(msgpack, true, { onAudio: sink });
    s.receive(clientAudio(0, 0, 3, 3, msgpack), A.address, A.port, 8);
    expect(results[2]).toBe(false);
  });

  it("writeAudio takes a peer record as well as a key, and writes nothing once IO stopped", () => {
    const s = connected(postcard, true);
    const info = s.peer(KEY) as NonNullable<ReturnType<ServerEngine["peer"]>>;
    const out = new Uint8Array(64);
    expect(s.writeAudio(info, 1, u64(6), new Uint8Array([9, 8]), out, 0)).toBe(19);
    const d = postcard.server.decode(out.subarray(0, 19), 0);
    expect(d.ok && d.message).toEqual({
      type: "audio",
      header: { streamIdx: 1, byteIdx: u64(6), nBytes: 2 },
    });
    s.receive(enc(Client.STOP_IO), A.address, A.port, 1);
    expect(s.writeAudio(info, 1, u64(8), new Uint8Array([9, 8]), out, 0)).toBe(0);
  });
});

describe("bad audio changes no state (BEHAVIOUR.md, Bad input)", () => {
  const cases: { name: string; streaming: boolean; data: (c: Codec) => Uint8Array }[] = [
    { name: "audio before IO start", streaming: false, data: (c) => clientAudio(0, 0, 4, 4, c) },
    {
      name: "audio with n_bytes larger than the payload",
      streaming: true,
      data: (c) => clientAudio(0, 0, 4, 5, c),
    },
    {
      name: "audio with n_bytes smaller than the payload",
      streaming: true,
      data: (c) => clientAudio(0, 0, 4, 3, c),
    },
    {
      name: "audio on a stream index out of range",
      streaming: true,
      data: (c) => clientAudio(2, 0, 4, 4, c),
    },
    {
      name: "a refusing ConnectionResult from a connected client",
      streaming: true,
      data: (c) => enc(Client.CONNECTION_REFUSED, c),
    },
  ];
  for (const c of cases) {
    for (const [connectedIn, badIn] of [
      [postcard, msgpack],
      [msgpack, postcard],
      [postcard, postcard],
    ] as const) {
      it(`${c.name} (${badIn.name} after ${connectedIn.name}): codec, deadline and byte indices unchanged`, () => {
        const s = connected(connectedIn, c.streaming);
        // one valid message first, so that expected byte indices are not all 0
        if (c.streaming) s.receive(clientAudio(0, 0, 4, 4, connectedIn), A.address, A.port, 50);
        const before = state(s);
        s.receive(c.data(badIn), A.address, A.port, 300);
        expect(state(s)).toEqual(before);
        // and the connection still times out on the old deadline
        s.handleTimeout(before.lastHeardMs + 599);
        expect(s.peer(KEY)).toBeDefined();
        s.handleTimeout(before.lastHeardMs + 600);
        expect(s.peer(KEY)).toBeUndefined();
      });
    }
  }

  it("a client engine ignores a server's audio before IO start: its deadline and codec stay", () => {
    const c = new ClientEngine({ codecs: { postcard, msgpack }, targets: [A] });
    c.startDiscovery(0);
    while (c.pollTransmit() !== undefined);
    const connect = new Uint8Array(postcard.server.encodingLength({ type: "connect", formats: FORMATS }));
    postcard.server.encode({ type: "connect", formats: FORMATS }, connect, 0);
    c.receive(connect, A.address, A.port, 0);
    const p = c.peer(KEY) as NonNullable<ReturnType<ClientEngine["peer"]>>;
    const deadline = c.nextDeadline();
    const m: ServerMessage = { type: "audio", header: { streamIdx: 0, byteIdx: u64(0), nBytes: 2 } };
    for (const codec of [msgpack, postcard]) {
      const b = new Uint8Array(codec.server.encodingLength(m) + 2);
      codec.server.encode(m, b, 0);
      c.receive(b, A.address, A.port, 300);
    }
    expect(p.codec.name).toBe("postcard");
    expect(c.nextDeadline()).toBe(deadline);
    expect(c.peerStats(KEY)?.discardedAudio).toBe(2);
  });
});

describe("heartbeats to an idle peer come 100 ms after the last datagram, audio included", () => {
  /**
   * An event loop on a virtual clock: the client sends a Heartbeat every 50 ms (so it stays
   * connected); the server writes audio every 10 ms from 5 ms until `audioUntil`, then nothing;
   * timers run exactly at the engine's deadlines. Returns the largest gap (ms) between two
   * datagrams the server sent to the client, from IO start to 1,500 ms.
   */
  function largestGap(audioUntil: number, stampAudio: boolean): number {
    const s = connected(postcard, true);
    const info = s.peer(KEY) as NonNullable<ReturnType<ServerEngine["peer"]>>;
    const out = new Uint8Array(64);
    const sentAt: number[] = [0];
    const drain = (t: number): void => {
      while (s.pollTransmit() !== undefined) sentAt.push(t);
      while (s.pollEvent() !== undefined);
    };
    let nextHb = 50;
    let nextAudio = 5;
    let k = 0;
    for (let step = 0; step < 100000; step++) {
      const deadline = s.nextDeadline();
      const t = Math.min(deadline, nextHb, nextAudio <= audioUntil ? nextAudio : Infinity);
      if (t > 1500) break;
      if (t === deadline) s.handleTimeout(t);
      if (t === nextHb) {
        s.receive(enc(Client.HEARTBEAT), A.address, A.port, t);
        nextHb += 50;
      }
      if (t === nextAudio && nextAudio <= audioUntil) {
        const n = stampAudio
          ? s.writeAudio(info, 0, u64(k * 2), new Uint8Array(2), out, 0, t)
          : s.writeAudio(info, 0, u64(k * 2), new Uint8Array(2), out, 0);
        if (n > 0) sentAt.push(t);
        k++;
        nextAudio += 10;
      }
      drain(t);
    }
    let gap = 0;
    for (let i = 1; i < sentAt.length; i++)
      gap = Math.max(gap, (sentAt[i] as number) - (sentAt[i - 1] as number));
    return gap;
  }

  it("is never later than 100 ms, wherever the last audio falls between two timer runs", () => {
    for (const until of [505, 555, 595, 605, 995, 1005]) {
      expect(largestGap(until, true), `audio until ${until}`).toBe(100);
      // Without the time, audio is stamped with the last receive/timer time: never later.
      expect(largestGap(until, false), `audio until ${until}, unstamped`).toBeLessThanOrEqual(100);
    }
  });
});
