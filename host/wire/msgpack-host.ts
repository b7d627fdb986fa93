/**
 * The host's msgpack decoder: built on @msgpack/msgpack so that every form a serde decoder
 * (rmp-serde 1.1 with syfala_proto's derived Deserialize impls) accepts is accepted, not only what
 * rmp-serde writes. On top of the compact decoder (shared/wire/msgpack.ts) it takes:
 *
 * - integers in any form whose value fits: `cf` for a small value, int8..int64 (`d0`-`d3`) with
 *   non-negative values, and for the f64 sample rate also f32 (`ca`) and integers (serde's f64
 *   accepts them, converted as Rust's `as f64` does);
 * - strings as str8/16/32 and as bin8/16/32 (serde matches names byte by byte: an identifier given
 *   as bytes, or as a str that is not UTF-8, is compared as bytes); maps and arrays in their 16/32
 *   forms;
 * - a unit variant as `{"Name": nil}`, and variants and struct fields given by index (an unsigned
 *   integer: serde's derived identifiers take `visit_u64`; out-of-range field indices are ignored
 *   like unknown names);
 * - struct maps with unknown keys (their values, any well-formed msgpack, are skipped), in any
 *   order; duplicate or missing fields are rejected, as are arrays with too few or extra elements.
 *
 * Where it is more lenient than serde (all harmless, none produced by any encoder): @msgpack/msgpack
 * returns the same JS number for `05`, `d0 05` and `cb 4014000000000000`, so identifiers given as
 * signed integers and integer-valued floats where serde wants an integer are accepted; and
 * rmp-serde's nesting limit (1024) is not enforced inside skipped values.
 *
 * Failures: running out of bytes is `truncated`, everything else `invalid`; nothing throws.
 */

import { Decoder, ExtData, ExtensionCodec } from "@msgpack/msgpack";
import {
  type Format,
  isValidSampleRate,
  SAMPLE_TYPES,
  type SampleType,
  type StreamFormats,
} from "../../shared/format.js";
import type {
  AudioHeader,
  ClientMessage,
  IOState,
  Message,
  Outcome,
  ServerMessage,
  Side,
} from "../../shared/message.js";
import type { U64 } from "../../shared/u64.js";
import { type Codec, type DecodeResult, fail } from "../../shared/wire/codec.js";
import { msgpack } from "../../shared/wire/msgpack.js";

// ---------------------------------------------------------------------------------------------
// The generic decode. Map keys are not left to @msgpack/msgpack's conversion (which decodes str
// keys leniently as UTF-8, rejects "__proto__", bigint and non-scalar keys, and lets duplicates
// overwrite each other): every key is stored in `keys` and the map gets "k<index>" instead, so
// that the model mapping sees each key exactly as sent (str keys as their raw bytes), duplicates
// included, in order.

let keys: unknown[] = [];

function keyRef(key: unknown): string {
  keys.push(key);
  return "k" + (keys.length - 1);
}

// Every ext type comes back as ExtData: the built-in timestamp decoder would throw on a malformed
// timestamp, which serde skips like any other ext value.
const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: -1,
  encode: () => null,
  decode: (data, type) => new ExtData(type, data),
});

const decoder = new Decoder({
  useBigInt64: true, // cf and d3 as bigint: u64 values stay exact
  rawStrings: true, // str values as their bytes (like bin): names are compared byte by byte
  extensionCodec: extensionCodec,
  keyDecoder: {
    canBeCached: () => true,
    decode: (bytes, at, length) => keyRef(bytes.slice(at, at + length)),
  },
  // Strings here are the key decoder's "k<index>"; anything else (bin, numbers, nil, ...) is stored.
  mapKeyConverter: (key) => (typeof key === "string" ? key : keyRef(key)),
});

/**
 * Where `d` stopped: @msgpack/msgpack 3.x keeps the offset of the next unread byte of the buffer
 * given to `decodeMulti` in its private `pos` field, and offers no public way to read it. This is
 * the only place that reaches into the library; test/msgpack.test.ts ("host decoder: reads the
 * decoder's position") fails if an update moves it. Returns -1 when the field is gone.
 */
function decoderPosition(d: Decoder): number {
  const pos = (d as unknown as { readonly pos?: unknown }).pos;
  return typeof pos === "number" ? pos : -1;
}

type ValueResult = { ok: true; value: unknown; end: number } | ReturnType<typeof fail>;

/** The first msgpack value at `buf[offset...]`, and where it ends (the payload follows it). */
function decodeValue(buf: Uint8Array, offset: number): ValueResult {
  if (!(offset >= 0) || !Number.isInteger(offset)) {
    return fail("invalid", 0, "a byte offset (got " + offset + ")");
  }
  keys = [];
  const values = decoder.decodeMulti(buf.subarray(offset));
  try {
    const first = values.next();
    const pos = decoderPosition(decoder);
    if (first.done) return fail("truncated", offset, "a msgpack value (the datagram is empty)");
    if (pos < 0)
      return fail("invalid", offset, "msgpack (internal error: the decoder's position is unknown)");
    return { ok: true, value: first.value, end: offset + pos };
  } catch (e) {
    const at = offset + Math.max(decoderPosition(decoder), 0);
    // @msgpack/msgpack throws RangeError exactly when it runs out of bytes ("Insufficient data",
    // or DataView's out-of-bounds error); anything else (DecodeError) is a bad byte.
    if (e instanceof RangeError)
      return fail("truncated", Math.min(at, buf.length), "more bytes: " + e.message);
    return fail("invalid", at, "well-formed msgpack: " + (e instanceof Error ? e.message : String(e)));
  } finally {
    values.return(undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// The model mapping: syfala_proto's nested types as serde's derived Deserialize impls read them.

/** A value that does not fit the message type; `expected` says what would have. */
class Mismatch extends Error {}

function mismatch(expected: string): never {
  throw new Mismatch(expected);
}

type Entry = readonly [key: unknown, value: unknown];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** A decoded map's entries, keys as sent, in order, duplicates included. */
function entries(map: Record<string, unknown>): Entry[] {
  return Object.keys(map).map((k) => [keys[Number(k.slice(1))], map[k]] as const);
}

function bytesAre(b: Uint8Array, name: string): boolean {
  if (b.length !== name.length) return false;
  for (let i = 0; i < b.length; i++) if (b[i] !== name.charCodeAt(i)) return false;
  return true;
}

/** A non-negative integer (number or bigint) as a bigint, or undefined. */
function unsigned(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v >= 0n ? v : undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v);
  return undefined;
}

/** A variant identifier (name as bytes, or index) among `names`; -1 when it names none. */
function identifier(v: unknown, names: readonly string[]): number {
  if (v instanceof Uint8Array) return names.findIndex((n) => bytesAre(v, n));
  const i = unsigned(v);
  return i !== undefined && i < BigInt(names.length) ? Number(i) : -1;
}

interface Variant {
  readonly index: number;
  /** The map form's value; undefined for a bare identifier. */
  readonly content: unknown;
  readonly isMap: boolean;
}

/** serde's enum forms: a bare identifier (unit variants only) or a one-entry map {identifier: content}. */
function variant(v: unknown, names: readonly string[], what: string): Variant {
  const expected = what + ": one of " + names.join(", ") + ", or a one-entry map {name: value}";
  if (isMap(v)) {
    const e = entries(v);
    const first = e[0];
    if (e.length !== 1 || first === undefined) mismatch(expected);
    const index = identifier(first[0], names);
    if (index < 0) mismatch(expected);
    return { index: index, content: first[1], isMap: true };
  }
  const index = identifier(v, names);
  if (index < 0) mismatch(expected);
  return { index: index, content: undefined, isMap: false };
}

function unitVariant(v: Variant, what: string): void {
  if (v.isMap && v.content !== null) mismatch(what + ": nil (a unit variant as a map)");
}

function newtypeContent(v: Variant, what: string): unknown {
  if (!v.isMap) mismatch(what + ": a one-entry map {name: value} (a newtype variant)");
  return v.content;
}

function unit(v: unknown, what: string): void {
  if (v !== null) mismatch(what + ": nil, the ()");
}

/**
 * serde's derived struct forms: an array of exactly the fields in order, or a map keyed by field
 * name or index (unknown ones skipped), each field exactly once. Returns the values in field order.
 */
function struct(v: unknown, fields: readonly string[], what: string): unknown[] {
  const expected = what + ": an array or map of its fields " + fields.join(", ");
  if (Array.isArray(v)) {
    if (v.length !== fields.length) mismatch(expected + " (exactly " + fields.length + ")");
    return v;
  }
  if (!isMap(v)) mismatch(expected);
  const values: unknown[] = [];
  const seen: boolean[] = [];
  for (const [key, value] of entries(v)) {
    let i: number;
    if (key instanceof Uint8Array) i = fields.findIndex((f) => bytesAre(key, f));
    else {
      // Other keys must be unsigned integers (field indices); nil, bool, negative, fractional,
      // array or map keys are no identifier at all.
      const n = unsigned(key);
      if (n === undefined) mismatch(what + ": field names or indices as map keys");
      i = n < BigInt(fields.length) ? Number(n) : -1;
    }
    if (i < 0) continue;
    if (seen[i]) mismatch(what + ": field " + fields[i] + " once, not twice");
    seen[i] = true;
    values[i] = value;
  }
  for (let i = 0; i < fields.length; i++) if (!seen[i]) mismatch(what + ": its field " + fields[i]);
  return values;
}

const U32_MAX = 0xffffffffn;
const U64_MAX = 0xffffffffffffffffn;

function u32(v: unknown, min: number, what: string): number {
  const n = unsigned(v);
  if (n === undefined || n > U32_MAX || n < BigInt(min)) mismatch(what);
  return Number(n);
}

function u64(v: unknown, what: string): U64 {
  const n = unsigned(v);
  if (n === undefined || n > U64_MAX) mismatch(what);
  return { hi: Number(n >> 32n), lo: Number(n & U32_MAX) };
}

// ---- syfala_proto's types

const HEADER_FIELDS = ["stream_idx", "stream_msg"];
const STREAM_MSG_FIELDS = ["byte_idx", "n_bytes"];
const FORMATS_FIELDS = ["inputs", "outputs"];
const FORMAT_FIELDS = ["sample_rate", "channel_count", "buffer_size", "sample_type"];

function audioHeader(v: unknown): AudioHeader {
  const [streamIdx, streamMsg] = struct(v, HEADER_FIELDS, "AudioMessageHeader");
  const [byteIdx, nBytes] = struct(streamMsg, STREAM_MSG_FIELDS, "AudioStreamMessageHeader");
  return {
    streamIdx: u32(streamIdx, 0, "u32 stream_idx"),
    byteIdx: u64(byteIdx, "u64 byte_idx"),
    nBytes: u32(nBytes, 0, "u32 n_bytes"),
  };
}

function sampleRate(v: unknown): number {
  const hz = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number.NaN;
  if (!isValidSampleRate(hz)) mismatch("sample_rate: a positive normal number");
  return hz;
}

function format(v: unknown): Format {
  const [rate, channels, frames, type] = struct(v, FORMAT_FIELDS, "Format");
  const t = variant(type, SAMPLE_TYPES, "sample_type");
  unitVariant(t, "sample_type");
  return {
    sampleRate: sampleRate(rate),
    channelCount: u32(channels, 1, "non-zero u32 channel_count"),
    bufferSize: u32(frames, 0, "u32 buffer_size"),
    sampleType: SAMPLE_TYPES[t.index] as SampleType,
  };
}

function formatList(v: unknown, what: string): Format[] {
  if (!Array.isArray(v)) mismatch(what + ": an array of formats");
  return v.map(format);
}

function streamFormats(v: unknown): StreamFormats {
  const [inputs, outputs] = struct(v, FORMATS_FIELDS, "StreamFormats");
  return { inputs: formatList(inputs, "inputs"), outputs: formatList(outputs, "outputs") };
}

/** `Result<(), Error>` where `Error` is `Failure(()) | Refusal(())`. */
function outcome(v: unknown): Outcome {
  const r = variant(v, ["Ok", "Err"], "Result");
  const content = newtypeContent(r, "Result");
  if (r.index === 0) {
    unit(content, "Ok");
    return "ok";
  }
  const e = variant(content, ["Failure", "Refusal"], "Error");
  unit(newtypeContent(e, "Error"), "Error");
  return e.index === 0 ? "failure" : "refusal";
}

const IO_STATES: readonly IOState[] = ["start", "stop"];

function ioState(v: unknown): { state: IOState; content: unknown } {
  const s = variant(v, ["Start", "Stop"], "IOState");
  return { state: IO_STATES[s.index] as IOState, content: newtypeContent(s, "IOState") };
}

function clientMessage(v: unknown): ClientMessage {
  const top = variant(v, ["Discovery", "ConnectionResult", "Connected", "Disconnect"], "Client");
  if (top.index === 0 || top.index === 3) {
    unitVariant(top, "Client");
    return top.index === 0 ? { type: "discovery" } : { type: "disconnect" };
  }
  if (top.index === 1) return { type: "connectionResult", result: outcome(newtypeContent(top, "Client")) };
  const connected = variant(newtypeContent(top, "Client"), ["Control", "Audio"], "client::Connected");
  const content = newtypeContent(connected, "client::Connected");
  if (connected.index === 1) return { type: "audio", header: audioHeader(content) };
  const control = variant(content, ["RequestIOStateChange", "Heartbeat"], "client::Control");
  if (control.index === 1) {
    unitVariant(control, "client::Control");
    return { type: "heartbeat" };
  }
  const io = ioState(newtypeContent(control, "client::Control"));
  unit(io.content, "IOState");
  return { type: "ioRequest", state: io.state };
}

function serverMessage(v: unknown): ServerMessage {
  const top = variant(v, ["Connect", "Connected", "Disconnect"], "Server");
  if (top.index === 2) {
    unitVariant(top, "Server");
    return { type: "disconnect" };
  }
  const content = newtypeContent(top, "Server");
  if (top.index === 0) return { type: "connect", formats: streamFormats(content) };
  const connected = variant(content, ["Control", "Audio"], "server::Connected");
  const inner = newtypeContent(connected, "server::Connected");
  if (connected.index === 1) return { type: "audio", header: audioHeader(inner) };
  const control = variant(inner, ["IOStateChangeResult", "Heartbeat"], "server::Control");
  if (control.index === 1) {
    unitVariant(control, "server::Control");
    return { type: "heartbeat" };
  }
  const io = ioState(newtypeContent(control, "server::Control"));
  return { type: "ioResult", state: io.state, result: outcome(io.content) };
}

/**
 * Decodes one message from `buf[offset...]` as serde would (see the module comment); `end` is the
 * offset after the msgpack header, where the audio payload starts. Never throws.
 */
export function decodeMsgpackHost(
  buf: Uint8Array,
  offset: number,
  side: "client",
): DecodeResult<ClientMessage>;
export function decodeMsgpackHost(
  buf: Uint8Array,
  offset: number,
  side: "server",
): DecodeResult<ServerMessage>;
export function decodeMsgpackHost(buf: Uint8Array, offset: number, side: Side): DecodeResult<Message>;
export function decodeMsgpackHost(buf: Uint8Array, offset: number, side: Side): DecodeResult<Message> {
  const r = decodeValue(buf, offset);
  if (!r.ok) return r;
  try {
    const message = side === "client" ? clientMessage(r.value) : serverMessage(r.value);
    return { ok: true, message: message, end: r.end };
  } catch (e) {
    if (e instanceof Mismatch) return fail("invalid", offset, e.message);
    return fail("invalid", offset, "msgpack (internal error: " + String(e) + ")");
  } finally {
    keys = [];
  }
}

/**
 * The host's msgpack codec: rmp-serde's exact bytes on encode; on decode, the compact decoder
 * first (about six times faster) and @msgpack/msgpack only for what the compact one rejects.
 * test/msgpack.test.ts proves that wherever the compact decoder accepts an input, both give the
 * same message and end, so the fast path changes no result.
 */
export const msgpackHost: Codec = {
  name: "msgpack",
  client: {
    encodingLength: msgpack.client.encodingLength,
    encode: msgpack.client.encode,
    decode: (buf, offset) => {
      const fast = msgpack.client.decode(buf, offset);
      return fast.ok ? fast : decodeMsgpackHost(buf, offset, "client");
    },
  },
  server: {
    encodingLength: msgpack.server.encodingLength,
    encode: msgpack.server.encode,
    decode: (buf, offset) => {
      const fast = msgpack.server.decode(buf, offset);
      return fast.ok ? fast : decodeMsgpackHost(buf, offset, "server");
    },
  },
};
