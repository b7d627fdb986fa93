/**
 * Codec speed: encode+decode of an audio header and of a Connect with 3 formats, for our postcard
 * codec, our msgpack codec, and @msgpack/msgpack encoding and decoding the same nested values
 * generically (the baseline: what a program using the library directly would pay).
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { msgpackHost } from "../host/wire/msgpack-host.js";
import type { StreamFormats } from "../shared/format.js";
import type { ServerMessage } from "../shared/message.js";
import type { Codec } from "../shared/wire/codec.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { type BenchResult, consume, measure, printTable } from "./harness.js";

const audio: ServerMessage = {
  type: "audio",
  header: { streamIdx: 1, byteIdx: { hi: 0, lo: 123456 }, nBytes: 1400 },
};
const formats: StreamFormats = {
  inputs: [
    { sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: "IEEF32" },
    { sampleRate: 44100, channelCount: 1, bufferSize: 0, sampleType: "I16" },
  ],
  outputs: [{ sampleRate: 96000.5, channelCount: 64, bufferSize: 256, sampleType: "I24" }],
};
const connect: ServerMessage = { type: "connect", formats };

/** The nested values rmp-serde would serialise, as plain JS for @msgpack/msgpack. */
const audioValue = { Connected: { Audio: [1, [123456, 1400]] } };
const connectValue = {
  Connect: [
    [
      [48000, 2, 32, "IEEF32"],
      [44100, 1, 0, "I16"],
    ],
    [[96000.5, 64, 256, "I24"]],
  ],
};

const BATCH = 1000;

function ours(name: string, codec: Codec, m: ServerMessage): BenchResult {
  const buf = new Uint8Array(2048);
  return measure(
    name,
    () => {
      for (let i = 0; i < BATCH; i++) {
        const n = codec.server.encode(m, buf, 0);
        const r = codec.server.decode(buf, 0);
        consume(n + (r.ok ? r.end : 0));
      }
    },
    BATCH,
  );
}

function library(name: string, value: unknown): BenchResult {
  const enc = new Encoder();
  const dec = new Decoder();
  return measure(
    name,
    () => {
      for (let i = 0; i < BATCH; i++) {
        const bytes = enc.encode(value);
        consume(bytes.length + (dec.decode(bytes) ? 1 : 0));
      }
    },
    BATCH,
  );
}

/** Runs the codec benchmarks and prints their table; returns the rows for the summary. */
export function benchCodec(): BenchResult[] {
  const rows: BenchResult[] = [];
  const audioBase = library("audio header: @msgpack/msgpack (baseline)", audioValue);
  rows.push(
    audioBase,
    ours("audio header: postcard", postcard, audio),
    ours("audio header: msgpack (ours, compact)", msgpack, audio),
    ours("audio header: msgpack (ours, host codec)", msgpackHost, audio),
  );
  printTable("codec: encode+decode per second (audio header)", rows, audioBase);
  const connBase = library("connect 3 formats: @msgpack/msgpack (baseline)", connectValue);
  const rows2 = [
    connBase,
    ours("connect 3 formats: postcard", postcard, connect),
    ours("connect 3 formats: msgpack (ours, compact)", msgpack, connect),
    ours("connect 3 formats: msgpack (ours, host codec)", msgpackHost, connect),
  ];
  printTable("codec: encode+decode per second (Connect, 3 formats)", rows2, connBase);
  return rows.concat(rows2);
}
