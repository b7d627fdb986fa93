/**
 * fast-check arbitraries for the message model, shared by the codec and endpoint tests. Every
 * value they produce is a valid message (what an encoder must accept); edge values (0, 127/128,
 * 255/256, 65535/65536, 2^32-1, byte indices above 2^53, the smallest normal and the largest f64
 * sample rate, format lists long enough for msgpack's array16) come up often.
 */
import fc from "fast-check";
import { type Format, SAMPLE_TYPES, type StreamFormats } from "../shared/format.js";
import type { AudioHeader, ClientMessage, IOState, Outcome, ServerMessage } from "../shared/message.js";
import type { U64 } from "../shared/u64.js";

/** Any u32, often at a boundary of the varint and msgpack integer forms. */
export const arbU32: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 255, 256, 16383, 16384, 65535, 65536, 0x7fffffff, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** Any u64 as two halves: often below 2^32, often above 2^53, sometimes 2^64-1. */
export const arbU64: fc.Arbitrary<U64> = fc.oneof(
  fc.record({ hi: fc.constant(0), lo: arbU32 }),
  fc.record({ hi: fc.integer({ min: 0, max: 0x1fffff }), lo: arbU32 }),
  fc.record({ hi: fc.integer({ min: 0x200000, max: 0xffffffff }), lo: arbU32 }),
  fc.constantFrom<U64>({ hi: 0x200000, lo: 1 }, { hi: 0xffffffff, lo: 0xffffffff }, { hi: 1, lo: 0 }),
);

/** A valid sample rate: a positive normal f64 (Hz). */
export const arbSampleRate: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(8000, 16000, 44100, 48000, 96000, 96000.5, 1e-300, 2.2250738585072014e-308, 1e300),
  fc.constant(Number.MAX_VALUE),
  fc.double({ min: 2.2250738585072014e-308, max: Number.MAX_VALUE, noNaN: true }),
);

/** A valid stream format. */
export const arbFormat: fc.Arbitrary<Format> = fc.record({
  sampleRate: arbSampleRate,
  channelCount: fc.oneof(
    fc.integer({ min: 1, max: 64 }),
    arbU32.filter((n) => n > 0),
  ),
  bufferSize: arbU32,
  sampleType: fc.constantFrom(...SAMPLE_TYPES),
});

/** A server's stream formats: up to 18 per direction (16 and more need msgpack's array16). */
export const arbStreamFormats: fc.Arbitrary<StreamFormats> = fc.record({
  inputs: fc.oneof(
    fc.array(arbFormat, { maxLength: 4 }),
    fc.array(arbFormat, { minLength: 14, maxLength: 18 }),
  ),
  outputs: fc.oneof(
    fc.array(arbFormat, { maxLength: 4 }),
    fc.array(arbFormat, { minLength: 14, maxLength: 18 }),
  ),
});

/** An audio header: any u32 stream index and length, any u64 byte index. */
export const arbAudioHeader: fc.Arbitrary<AudioHeader> = fc.record({
  streamIdx: fc.oneof(fc.integer({ min: 0, max: 8 }), arbU32),
  byteIdx: arbU64,
  nBytes: fc.oneof(fc.integer({ min: 0, max: 1472 }), arbU32),
});

/** ok, failure or refusal. */
export const arbOutcome: fc.Arbitrary<Outcome> = fc.constantFrom<Outcome>("ok", "failure", "refusal");

/** start or stop. */
export const arbIOState: fc.Arbitrary<IOState> = fc.constantFrom<IOState>("start", "stop");

/** Any client-to-server message. */
export const arbClientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.constant<ClientMessage>({ type: "discovery" }),
  arbOutcome.map((result): ClientMessage => ({ type: "connectionResult", result })),
  arbIOState.map((state): ClientMessage => ({ type: "ioRequest", state })),
  fc.constant<ClientMessage>({ type: "heartbeat" }),
  arbAudioHeader.map((header): ClientMessage => ({ type: "audio", header })),
  fc.constant<ClientMessage>({ type: "disconnect" }),
);

/** Any server-to-client message. */
export const arbServerMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  arbStreamFormats.map((formats): ServerMessage => ({ type: "connect", formats })),
  fc
    .tuple(arbIOState, arbOutcome)
    .map(([state, result]): ServerMessage => ({ type: "ioResult", state, result })),
  fc.constant<ServerMessage>({ type: "heartbeat" }),
  arbAudioHeader.map((header): ServerMessage => ({ type: "audio", header })),
  fc.constant<ServerMessage>({ type: "disconnect" }),
);
