/**
 * Engine speed (issue 3): audio messages per second through the sans-IO engines, handed from one
 * engine to the other directly (no sockets, no transport), next to the codec alone encoding and
 * decoding the same audio header in the same run, so that what the engines add over the codec is
 * visible.
 *
 * One message = the sender engine's `writeAudio` (header encoded into a reused buffer, payload
 * copied after it), the receiver engine's `receive` (codec detection, decode, peer lookup, the
 * stream's receiver, the audio event) and the application's `pollEvent`. Byte indices advance
 * like a real stream, so every message is in order ("accepted"). Receivers: the built-in index
 * check (the engines' default, what the firmware runs) or the full StreamReceiver with a sink
 * that discards (what a host client runs).
 */
import { ClientEngine } from "../shared/endpoint/client.js";
import type { ReceiverFactory } from "../shared/endpoint/receivers.js";
import { ServerEngine } from "../shared/endpoint/server.js";
import { streamReceivers } from "../shared/endpoint/stream-receivers.js";
import type { Format, StreamFormats } from "../shared/format.js";
import type { ServerMessage } from "../shared/message.js";
import { type U64, u64AddInPlace } from "../shared/u64.js";
import { postcard } from "../shared/wire/postcard.js";
import { type BenchResult, consume, measure, printTable } from "./harness.js";

const BATCH = 1000;
const SERVER = { address: "127.0.0.2", port: 6910 };
const CLIENT = { address: "127.0.0.1", port: 50000 };

/** A stream whose messages carry `payloadBytes` (frames of 2 bytes: I16 mono). */
function format(payloadBytes: number): Format {
  return { sampleRate: 48000, channelCount: 1, bufferSize: payloadBytes / 2, sampleType: "I16" };
}

/** A connected, streaming server-client pair, both sides with `receivers` (undefined: the index check). */
function pair(
  payloadBytes: number,
  receivers: ReceiverFactory | undefined,
): { server: ServerEngine; client: ClientEngine; peerOfServer: string; peerOfClient: string } {
  const f = format(payloadBytes);
  const formats: StreamFormats = { inputs: [f], outputs: [f] };
  const codecs = { postcard };
  const server = new ServerEngine(
    receivers === undefined ? { formats, codecs } : { formats, codecs, receivers },
  );
  const client = new ClientEngine(
    receivers === undefined ? { codecs, targets: [SERVER] } : { codecs, targets: [SERVER], receivers },
  );
  let now = 0;
  /** Hands every queued control datagram to the other side until both are quiet (bounded). */
  const shuttle = (): void => {
    for (let round = 0; round < 20; round++) {
      let moved = false;
      for (let t = client.pollTransmit(); t !== undefined; t = client.pollTransmit()) {
        server.receive(t.data, CLIENT.address, CLIENT.port, now);
        moved = true;
      }
      for (let t = server.pollTransmit(); t !== undefined; t = server.pollTransmit()) {
        client.receive(t.data, SERVER.address, SERVER.port, now);
        moved = true;
      }
      while (client.pollEvent() !== undefined) consume(1);
      while (server.pollEvent() !== undefined) consume(1);
      if (!moved) return;
    }
  };
  client.startDiscovery(now);
  shuttle();
  client.stopDiscovery();
  const peerOfClient = `${SERVER.address}:${SERVER.port}`;
  const peerOfServer = `${CLIENT.address}:${CLIENT.port}`;
  now += 1;
  client.startIO(peerOfClient, now);
  shuttle();
  if (client.ioPhase(peerOfClient) !== "started" || server.peer(peerOfServer)?.streaming !== true) {
    throw new Error("bench/engine: the pair did not start IO");
  }
  return { server, client, peerOfServer, peerOfClient };
}

/** Something that writes audio datagrams to a peer (either engine). */
interface Writer {
  writeAudio(
    peer: string,
    streamIdx: number,
    byteIdx: U64,
    payload: Uint8Array,
    out: Uint8Array,
    o: number,
  ): number;
}

/** Something that receives datagrams and yields audio events (either engine). */
interface Reader {
  receive(data: Uint8Array, address: string, port: number, nowMs: number): void;
  pollEvent(): { type: string; status?: number } | undefined;
}

/**
 * Audio one way: `from` writes to its peer, `to` receives from `fromAddr` and polls the event.
 * `direction` picks server->client or client->server.
 */
function oneWay(
  name: string,
  direction: "server->client" | "client->server",
  payloadBytes: number,
  receivers: ReceiverFactory | undefined,
): BenchResult {
  const p = pair(payloadBytes, receivers);
  const toClient = direction === "server->client";
  const from: Writer = toClient ? p.server : p.client;
  const to: Reader = toClient ? p.client : p.server;
  const peer = toClient ? p.peerOfServer : p.peerOfClient;
  const fromAddr = toClient ? SERVER : CLIENT;
  const payload = new Uint8Array(payloadBytes).fill(7);
  const out = new Uint8Array(1472);
  const idx: U64 = { hi: 0, lo: 0 };
  return measure(
    name,
    () => {
      for (let i = 0; i < BATCH; i++) {
        const n = from.writeAudio(peer, 0, idx, payload, out, 0);
        to.receive(out.subarray(0, n), fromAddr.address, fromAddr.port, 1);
        const e = to.pollEvent();
        consume(e !== undefined && e.type === "audio" ? (e.status ?? 0) + 1 : 0);
        u64AddInPlace(idx, payloadBytes);
      }
    },
    BATCH,
  );
}

/** The codec alone: encode+decode of the same audio header (postcard), byte index advancing. */
function codecAlone(name: string): BenchResult {
  const header = { streamIdx: 0, byteIdx: { hi: 0, lo: 0 }, nBytes: 256 };
  const m: ServerMessage = { type: "audio", header };
  const buf = new Uint8Array(64);
  return measure(
    name,
    () => {
      for (let i = 0; i < BATCH; i++) {
        const n = postcard.server.encode(m, buf, 0);
        const r = postcard.server.decode(buf, 0);
        consume(n + (r.ok ? r.end : 0));
        u64AddInPlace(header.byteIdx, 256);
      }
    },
    BATCH,
  );
}

/** Runs the engine benchmarks and prints their table; returns the rows. */
export function benchEngine(): BenchResult[] {
  const base = codecAlone("codec alone: postcard audio header encode+decode (baseline)");
  const rows = [
    base,
    oneWay("server->client 256 B, index check", "server->client", 256, undefined),
    oneWay("server->client 1400 B, index check", "server->client", 1400, undefined),
    oneWay("server->client 256 B, StreamReceiver", "server->client", 256, streamReceivers),
    oneWay("server->client 1400 B, StreamReceiver", "server->client", 1400, streamReceivers),
    oneWay("client->server 256 B, index check", "client->server", 256, undefined),
    oneWay("client->server 1400 B, index check", "client->server", 1400, undefined),
  ];
  printTable("engine: audio messages per second, engine to engine, no sockets", rows, base);
  return rows;
}
