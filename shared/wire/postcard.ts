/**
 * syfala_network's default codec: the nested messages flattened into one enum per direction and
 * encoded with postcard 1.x (WIRE.md). Byte layout:
 *
 * ```text
 * message  = tag:varint fields...
 * audio    = tag stream_idx:u32le byte_idx:u64le n_bytes:u32le   (17 bytes, then the payload)
 * connect  = tag n_in:varint format*n_in n_out:varint format*n_out
 * format   = sample_rate:f64le channel_count:varint buffer_size:varint sample_type:varint
 * varint   = unsigned LEB128, least significant group first; u32: at most 5 bytes, the 5th at
 *            most 0x0f; usize (counts): at most 10 bytes, the 10th at most 0x01
 * ```
 *
 * Allocation-free on encode (bytes are written one by one, f64 through one scratch DataView);
 * decode allocates only the message it returns. Decoding never preallocates for a count read
 * from the wire: formats are read one by one, so a huge count fails at the first missing one.
 */

import {
  type Format,
  isNormalPositiveF64Bits,
  SAMPLE_TYPES,
  type SampleType,
  type StreamFormats,
  sampleTypeIndex,
} from "../format.js";
import { type AudioHeader, Client, type ClientMessage, Server, type ServerMessage } from "../message.js";
import type { U64 } from "../u64.js";
import { type Codec, type DecodeResult, fail, type MessageCodec } from "./codec.js";

/** Length of an encoded audio header: tag, stream_idx u32, byte_idx u64, n_bytes u32. */
export const POSTCARD_AUDIO_HEADER_BYTES = 17;

/** Client-to-server tags (positions in syfala_network's flat client enum). */
export const CLIENT_TAG = {
  DISCOVERY: 0,
  CONNECTION_OK: 1,
  CONNECTION_FAILURE: 2,
  CONNECTION_REFUSAL: 3,
  START_IO: 4,
  STOP_IO: 5,
  AUDIO: 6,
  DISCONNECT: 7,
  HEARTBEAT: 8,
};

/** Server-to-client tags (positions in syfala_network's flat server enum). */
export const SERVER_TAG = {
  CONNECT: 0,
  START_IO_FAILURE: 1,
  START_IO_REFUSAL: 2,
  START_IO_OK: 3,
  STOP_IO_FAILURE: 4,
  STOP_IO_REFUSAL: 5,
  STOP_IO_OK: 6,
  AUDIO: 7,
  DISCONNECT: 8,
  HEARTBEAT: 9,
};

/** Client messages without fields, indexed by tag (undefined where the tag carries fields). */
const CLIENT_BY_TAG: (ClientMessage | undefined)[] = [
  Client.DISCOVERY,
  Client.CONNECTION_OK,
  Client.CONNECTION_FAILED,
  Client.CONNECTION_REFUSED,
  Client.START_IO,
  Client.STOP_IO,
  undefined,
  Client.DISCONNECT,
  Client.HEARTBEAT,
];

/** Server messages without fields, indexed by tag (undefined where the tag carries fields). */
const SERVER_BY_TAG: (ServerMessage | undefined)[] = [
  undefined,
  Server.START_IO_FAILED,
  Server.START_IO_REFUSED,
  Server.START_IO_OK,
  Server.STOP_IO_FAILED,
  Server.STOP_IO_REFUSED,
  Server.STOP_IO_OK,
  undefined,
  Server.DISCONNECT,
  Server.HEARTBEAT,
];

const f64Scratch = new DataView(new ArrayBuffer(8));

// ---------------------------------------------------------------------------------------------
// Encoding

/** Bytes of the shortest varint for a non-negative integer (u32 or a count below 2^53). */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes the shortest varint of `n` at `buf[o]`; returns the offset after it. */
function writeVarint(buf: Uint8Array, o: number, n: number): number {
  while (n >= 128) {
    buf[o++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[o++] = n;
  return o;
}

/** Writes a u32 little-endian at `buf[o]`. */
function writeU32(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v & 0xff;
  buf[o + 1] = (v >>> 8) & 0xff;
  buf[o + 2] = (v >>> 16) & 0xff;
  buf[o + 3] = (v >>> 24) & 0xff;
}

function formatLength(f: Format): number {
  return 8 + varintLength(f.channelCount) + varintLength(f.bufferSize) + 1;
}

function formatsLength(fs: StreamFormats): number {
  let n = varintLength(fs.inputs.length) + varintLength(fs.outputs.length);
  for (let i = 0; i < fs.inputs.length; i++) n += formatLength(fs.inputs[i] as Format);
  for (let i = 0; i < fs.outputs.length; i++) n += formatLength(fs.outputs[i] as Format);
  return n;
}

function writeFormat(buf: Uint8Array, o: number, f: Format): number {
  const st = sampleTypeIndex(f.sampleType);
  if (st < 0) throw new Error("postcard: unknown sample type " + f.sampleType);
  f64Scratch.setFloat64(0, f.sampleRate, true);
  for (let i = 0; i < 8; i++) buf[o + i] = f64Scratch.getUint8(i);
  o = writeVarint(buf, o + 8, f.channelCount);
  o = writeVarint(buf, o, f.bufferSize);
  buf[o] = st;
  return o + 1;
}

function writeFormatList(buf: Uint8Array, o: number, list: readonly Format[]): number {
  o = writeVarint(buf, o, list.length);
  for (let i = 0; i < list.length; i++) o = writeFormat(buf, o, list[i] as Format);
  return o;
}

/** Writes the 16 fixed bytes after an audio tag. */
function writeAudioFields(buf: Uint8Array, o: number, h: AudioHeader): void {
  writeU32(buf, o, h.streamIdx);
  writeU32(buf, o + 4, h.byteIdx.lo);
  writeU32(buf, o + 8, h.byteIdx.hi);
  writeU32(buf, o + 12, h.nBytes);
}

function checkRoom(buf: Uint8Array, offset: number, len: number): void {
  if (offset < 0 || offset + len > buf.length) {
    throw new Error(
      "postcard: " + len + " bytes do not fit at offset " + offset + " of a " + buf.length + "-byte buffer",
    );
  }
}

function clientTag(m: ClientMessage): number {
  switch (m.type) {
    case "discovery":
      return CLIENT_TAG.DISCOVERY;
    case "connectionResult":
      return m.result === "ok"
        ? CLIENT_TAG.CONNECTION_OK
        : m.result === "failure"
          ? CLIENT_TAG.CONNECTION_FAILURE
          : CLIENT_TAG.CONNECTION_REFUSAL;
    case "ioRequest":
      return m.state === "start" ? CLIENT_TAG.START_IO : CLIENT_TAG.STOP_IO;
    case "audio":
      return CLIENT_TAG.AUDIO;
    case "disconnect":
      return CLIENT_TAG.DISCONNECT;
    case "heartbeat":
      return CLIENT_TAG.HEARTBEAT;
  }
}

function serverTag(m: ServerMessage): number {
  switch (m.type) {
    case "connect":
      return SERVER_TAG.CONNECT;
    case "ioResult": {
      const base = m.state === "start" ? SERVER_TAG.START_IO_FAILURE : SERVER_TAG.STOP_IO_FAILURE;
      return base + (m.result === "failure" ? 0 : m.result === "refusal" ? 1 : 2);
    }
    case "audio":
      return SERVER_TAG.AUDIO;
    case "disconnect":
      return SERVER_TAG.DISCONNECT;
    case "heartbeat":
      return SERVER_TAG.HEARTBEAT;
  }
}

/** One direction's piece of the codec, exported so that one-sided builds (the firmware) can pick it alone. */
export function clientLength(m: ClientMessage): number {
  return m.type === "audio" ? POSTCARD_AUDIO_HEADER_BYTES : 1;
}

/** One direction's piece of the codec, exported so that one-sided builds (the firmware) can pick it alone. */
export function serverLength(m: ServerMessage): number {
  if (m.type === "audio") return POSTCARD_AUDIO_HEADER_BYTES;
  if (m.type === "connect") return 1 + formatsLength(m.formats);
  return 1;
}

/** One direction's piece of the codec, exported so that one-sided builds (the firmware) can pick it alone. */
export function encodeClient(m: ClientMessage, buf: Uint8Array, offset: number): number {
  const len = clientLength(m);
  checkRoom(buf, offset, len);
  buf[offset] = clientTag(m);
  if (m.type === "audio") writeAudioFields(buf, offset + 1, m.header);
  return len;
}

/** One direction's piece of the codec, exported so that one-sided builds (the firmware) can pick it alone. */
export function encodeServer(m: ServerMessage, buf: Uint8Array, offset: number): number {
  const len = serverLength(m);
  checkRoom(buf, offset, len);
  buf[offset] = serverTag(m);
  if (m.type === "audio") writeAudioFields(buf, offset + 1, m.header);
  else if (m.type === "connect") {
    const o = writeFormatList(buf, offset + 1, m.formats.inputs);
    writeFormatList(buf, o, m.formats.outputs);
  }
  return len;
}

// ---------------------------------------------------------------------------------------------
// Decoding. A varint read returns its value, or one of these (values are never negative); the
// offset after it is left in `cursor`.

const TRUNCATED = -1;
const INVALID = -2;
let cursor = 0;

/**
 * Reads a varint at `buf[o]` of at most `maxBytes` bytes whose last byte is at most `maxLast`
 * (u32: 5 and 0x0f; usize: 10 and 0x01), accepting non-canonical forms as postcard does.
 * Values of 2^53 and above (counts only) come back rounded, which is harmless: a count is only
 * ever compared with the formats actually present.
 */
function readVarint(buf: Uint8Array, o: number, maxBytes: number, maxLast: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    const b = buf[o + i];
    if (b === undefined) {
      cursor = o + i;
      return TRUNCATED;
    }
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      cursor = o + i + 1;
      return i === maxBytes - 1 && b > maxLast ? INVALID : value;
    }
    scale *= 128;
  }
  cursor = o + maxBytes - 1;
  return INVALID;
}

function readU32(buf: Uint8Array, o: number): number {
  return (
    ((buf[o] as number) |
      ((buf[o + 1] as number) << 8) |
      ((buf[o + 2] as number) << 16) |
      ((buf[o + 3] as number) << 24)) >>>
    0
  );
}

/** Failure for a varint read that returned TRUNCATED or INVALID, at the cursor. */
function varintFail(code: number, what: string): DecodeResult<never> {
  return code === TRUNCATED
    ? fail("truncated", cursor, what)
    : fail("invalid", cursor, what + " (varint too long or out of range)");
}

/** Decodes the 16 fixed bytes of an audio header after its tag at `buf[o - 1]`. */
function decodeAudio<M>(buf: Uint8Array, o: number, make: (h: AudioHeader) => M): DecodeResult<M> {
  if (buf.length - o < 16) {
    const field =
      buf.length - o < 4 ? "u32 stream_idx" : buf.length - o < 12 ? "u64 byte_idx" : "u32 n_bytes";
    return fail("truncated", buf.length, field + " of the 17-byte audio header");
  }
  const header: AudioHeader = {
    streamIdx: readU32(buf, o),
    byteIdx: { hi: readU32(buf, o + 8), lo: readU32(buf, o + 4) },
    nBytes: readU32(buf, o + 12),
  };
  return { ok: true, message: make(header), end: o + 16 };
}

function clientAudio(h: AudioHeader): ClientMessage {
  return { type: "audio", header: h };
}

function serverAudio(h: AudioHeader): ServerMessage {
  return { type: "audio", header: h };
}

/** Reads one format at `buf[o]`; on success `cursor` is after it. */
function decodeFormat(buf: Uint8Array, o: number): Format | DecodeResult<never> {
  if (buf.length - o < 8) return fail("truncated", buf.length, "f64 sample_rate");
  if (!isNormalPositiveF64Bits(readU32(buf, o + 4))) {
    return fail("invalid", o, "a positive normal f64 sample_rate");
  }
  for (let i = 0; i < 8; i++) f64Scratch.setUint8(i, buf[o + i] as number);
  const sampleRate = f64Scratch.getFloat64(0, true);
  const channelCount = readVarint(buf, o + 8, 5, 0x0f);
  if (channelCount < 0) return varintFail(channelCount, "varint channel_count");
  if (channelCount === 0) return fail("invalid", cursor - 1, "a non-zero channel_count");
  const bufferSize = readVarint(buf, cursor, 5, 0x0f);
  if (bufferSize < 0) return varintFail(bufferSize, "varint buffer_size");
  const stStart = cursor;
  const st = readVarint(buf, cursor, 5, 0x0f);
  if (st < 0) return varintFail(st, "varint sample_type");
  if (st >= SAMPLE_TYPES.length) return fail("invalid", stStart, "a sample_type index from 0 to 11");
  return {
    sampleRate: sampleRate,
    channelCount: channelCount,
    bufferSize: bufferSize,
    sampleType: SAMPLE_TYPES[st] as SampleType,
  };
}

/** Reads a count and that many formats; on success `cursor` is after them. */
function decodeFormatList(buf: Uint8Array, o: number, what: string): Format[] | DecodeResult<never> {
  const count = readVarint(buf, o, 10, 0x01);
  if (count < 0) return varintFail(count, "varint count of " + what);
  const list: Format[] = [];
  for (let i = 0; i < count; i++) {
    const f = decodeFormat(buf, cursor);
    if ("ok" in f) return f;
    list.push(f);
  }
  return list;
}

function decodeConnect(buf: Uint8Array, o: number): DecodeResult<ServerMessage> {
  const inputs = decodeFormatList(buf, o, "input formats");
  if (!isFormatList(inputs)) return inputs;
  const outputs = decodeFormatList(buf, cursor, "output formats");
  if (!isFormatList(outputs)) return outputs;
  return {
    ok: true,
    message: { type: "connect", formats: { inputs: inputs, outputs: outputs } },
    end: cursor,
  };
}

function isFormatList(x: Format[] | DecodeResult<never>): x is Format[] {
  return !("ok" in x);
}

/** One direction's piece of the codec, exported so that one-sided builds (the firmware) can pick it alone. */
export function decodeClient(buf: Uint8Array, offset: number): DecodeResult<ClientMessage> {
  const tag = readVarint(buf, offset, 5, 0x0f);
  if (tag < 0) return varintFail(tag, "varint message tag");
  if (tag === CLIENT_TAG.AUDIO) return decodeAudio(buf, cursor, clientAudio);
  const m = CLIENT_BY_TAG[tag];
  if (m === undefined) return fail("invalid", offset, "a client message tag from 0 to 8");
  return { ok: true, message: m, end: cursor };
}

/** One direction's piece of the codec, exported so that one-sided builds (the firmware) can pick it alone. */
export function decodeServer(buf: Uint8Array, offset: number): DecodeResult<ServerMessage> {
  const tag = readVarint(buf, offset, 5, 0x0f);
  if (tag < 0) return varintFail(tag, "varint message tag");
  if (tag === SERVER_TAG.AUDIO) return decodeAudio(buf, cursor, serverAudio);
  if (tag === SERVER_TAG.CONNECT) return decodeConnect(buf, cursor);
  const m = SERVER_BY_TAG[tag];
  if (m === undefined) return fail("invalid", offset, "a server message tag from 0 to 9");
  return { ok: true, message: m, end: cursor };
}

/*
 * The audio shortcut (MessageCodec.readAudio / writeAudio): one function per direction and per
 * half, the byte arithmetic written out inline, because on Espruino each call and each property
 * lookup costs microseconds and these run once per audio datagram. Only the canonical one-byte
 * tag is recognised; anything else takes the general decoder, which gives the same result.
 */

/**
 * Makes the reader of the audio header with tag `tag`: it reads the header at `buf[o]` into
 * `into` and returns the payload offset, or -1. The fields are copied to an aligned scratch and
 * read as four u32s: on Espruino that costs a third of 16 byte reads and shifts, and half of a
 * DataView made per call (instruction counts on the real interpreter, bench/espruino/steps.ts).
 * A closure, so that what it names lives in a small scope: Espruino finds a variable by walking
 * the scope's list, and the firmware's top-level scope has hundreds. On a big-endian host it
 * always answers -1: the general decoder then reads every audio message, with the same result.
 */
function audioHeaderReader(tag: number): (buf: Uint8Array, o: number, into: AudioHeader) => number {
  const scratch = new Uint8Array(16);
  const u = new Uint32Array(scratch.buffer);
  const le = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  return (buf: Uint8Array, o: number, into: AudioHeader): number => {
    if (buf[o] !== tag || buf.length < o + 17 || !le) return -1;
    scratch.set(buf.subarray(o + 1, o + 17));
    into.streamIdx = u[0] as number;
    const b = into.byteIdx;
    b.lo = u[1] as number;
    b.hi = u[2] as number;
    into.nBytes = u[3] as number;
    return o + 17;
  };
}

/** Writes an audio header with tag `tag` at `buf[o]` (the caller checked that it fits); its length. */
function writeAudioHeader(buf: Uint8Array, o: number, tag: number, s: number, b: U64, n: number): number {
  const v = new DataView(buf.buffer, buf.byteOffset + o);
  v.setUint8(0, tag);
  v.setUint32(1, s, true);
  v.setUint32(5, b.lo, true);
  v.setUint32(9, b.hi, true);
  v.setUint32(13, n, true);
  return POSTCARD_AUDIO_HEADER_BYTES;
}

/** The audio shortcut's reader for client messages (what a server receives). */
export const readClientAudio = audioHeaderReader(CLIENT_TAG.AUDIO);

/** The audio shortcut's reader for server messages (what a client receives). */
export const readServerAudio = audioHeaderReader(SERVER_TAG.AUDIO);

/** The audio shortcut's writer for client messages. */
export function writeClientAudio(buf: Uint8Array, offset: number, s: number, b: U64, n: number): number {
  return writeAudioHeader(buf, offset, CLIENT_TAG.AUDIO, s, b, n);
}

/** The audio shortcut's writer for server messages (what a server sends). */
export function writeServerAudio(buf: Uint8Array, offset: number, s: number, b: U64, n: number): number {
  return writeAudioHeader(buf, offset, SERVER_TAG.AUDIO, s, b, n);
}

/** The shortcut's turnaround for server messages: a client's audio header becomes the server's (tags differ, fields do not). */
export function retagServerAudio(buf: Uint8Array, offset: number): void {
  buf[offset] = SERVER_TAG.AUDIO;
}

/** The shortcut's turnaround for client messages: a server's audio header becomes the client's. */
export function retagClientAudio(buf: Uint8Array, offset: number): void {
  buf[offset] = CLIENT_TAG.AUDIO;
}

/** Client-to-server messages in postcard. */
export const postcardClient: MessageCodec<ClientMessage> = {
  encodingLength: clientLength,
  encode: encodeClient,
  decode: decodeClient,
  readAudio: readClientAudio,
  writeAudio: writeClientAudio,
  retagAudio: retagClientAudio,
};

/** Server-to-client messages in postcard. */
export const postcardServer: MessageCodec<ServerMessage> = {
  encodingLength: serverLength,
  encode: encodeServer,
  decode: decodeServer,
  readAudio: readServerAudio,
  writeAudio: writeServerAudio,
  retagAudio: retagServerAudio,
};

/** The postcard codec, both directions. */
export const postcard: Codec = { name: "postcard", client: postcardClient, server: postcardServer };
