/**
 * The msgpack codec: what rmp-serde 1.1 (`rmp_serde::to_vec`) writes for the reference's *nested*
 * syfala_proto messages, so that a Rust program using rmp-serde with syfala_proto talks to us
 * (WIRE.md, "The msgpack codec"). Byte layout:
 *
 * ```text
 * unit variant     = str(name)                     "Discovery"           a9 "Discovery"
 * newtype variant  = 81 str(name) value            {"Connect": formats}  81 a7 "Connect" ...
 * ()               = c0;  Result<(), Error> = {"Ok": ()} | {"Err": {"Failure"|"Refusal": ()}}
 * header           = 92 stream_idx:uint 92 byte_idx:uint n_bytes:uint   (then the audio payload)
 * formats          = 92 array(format) array(format)       (array = 90+n, dc u16be, dd u32be)
 * format           = 94 cb sample_rate:f64be channel_count:uint buffer_size:uint str(sample_type)
 * uint             = the smallest of 00-7f, cc u8, cd u16be, ce u32be, cf u64be
 * ```
 *
 * A message is a path of variant names through the nested enums (the tables below): encoding
 * writes the path and the payload, decoding walks the same table. The decoder also takes what
 * `to_vec_named` writes (structs as maps keyed by field name, in any order), a unit variant as
 * `{name: nil}`, str8/16/32 names, 16/32-bit array and map headers and any unsigned integer form
 * whose value fits. Other forms serde would take (unknown map keys, signed or float numbers, f32
 * rates, integer variant indices) are `invalid` here; the host's decoder
 * (host/wire/msgpack-host.ts) takes all of them.
 *
 * Espruino-safe. Encoding allocates nothing and checks the room before writing (Espruino's
 * DataView does not bounds-check). Decoding allocates only the message; formats are read one by
 * one, so a huge declared count ends in `truncated` at the first missing format.
 */

import {
  type Format,
  formatProblem,
  isNormalPositiveF64Bits,
  SAMPLE_TYPES,
  type SampleType,
  type StreamFormats,
} from "../format.js";
import {
  type AudioHeader,
  Client,
  type ClientMessage,
  type Message,
  Server,
  type ServerMessage,
} from "../message.js";
import { type Codec, type DecodeErrorKind, type DecodeResult, fail, type MessageCodec } from "./codec.js";

// How a path ends: a unit variant (its bare name), a newtype variant holding () ({name: nil}),
// or a variant holding the audio header or the stream formats.
const UNIT = 0;
const NIL = 1;
const AUDIO = 2;
const CONNECT = 3;

// One direction's messages: for each leaf, its variant names from the outer enum inwards, how
// it ends, and the ready-made message (undefined for the two payload leaves).
interface Table {
  readonly paths: string[][];
  readonly kinds: number[];
  readonly msgs: (Message | undefined)[];
}

function table(paths: string[], kinds: number[], msgs: (Message | undefined)[]): Table {
  const split: string[][] = [];
  for (let i = 0; i < paths.length; i++) split.push((paths[i] as string).split(" "));
  return { paths: split, kinds: kinds, msgs: msgs };
}

const CC = "Connected Control ";
const IO = CC + "IOStateChangeResult ";

const CLIENT = table(
  [
    "Discovery",
    "ConnectionResult Ok",
    "ConnectionResult Err Failure",
    "ConnectionResult Err Refusal",
    CC + "RequestIOStateChange Start",
    CC + "RequestIOStateChange Stop",
    CC + "Heartbeat",
    "Connected Audio",
    "Disconnect",
  ],
  [UNIT, NIL, NIL, NIL, NIL, NIL, UNIT, AUDIO, UNIT],
  [
    Client.DISCOVERY,
    Client.CONNECTION_OK,
    Client.CONNECTION_FAILED,
    Client.CONNECTION_REFUSED,
    Client.START_IO,
    Client.STOP_IO,
    Client.HEARTBEAT,
    undefined,
    Client.DISCONNECT,
  ],
);

const SERVER = table(
  [
    "Connect",
    IO + "Start Ok",
    IO + "Start Err Failure",
    IO + "Start Err Refusal",
    IO + "Stop Ok",
    IO + "Stop Err Failure",
    IO + "Stop Err Refusal",
    CC + "Heartbeat",
    "Connected Audio",
    "Disconnect",
  ],
  [CONNECT, NIL, NIL, NIL, NIL, NIL, NIL, UNIT, AUDIO, UNIT],
  [
    undefined,
    Server.START_IO_OK,
    Server.START_IO_FAILED,
    Server.START_IO_REFUSED,
    Server.STOP_IO_OK,
    Server.STOP_IO_FAILED,
    Server.STOP_IO_REFUSED,
    Server.HEARTBEAT,
    undefined,
    Server.DISCONNECT,
  ],
);

/** Struct field names in declaration order (the order of `to_vec`'s arrays). */
const HEADER_FIELDS = ["stream_idx", "stream_msg"];
const STREAM_MSG_FIELDS = ["byte_idx", "n_bytes"];
const FORMATS_FIELDS = ["inputs", "outputs"];
const FORMAT_FIELDS = ["sample_rate", "channel_count", "buffer_size", "sample_type"];

const EMPTY: Uint8Array = new Uint8Array(0);
const f64Scratch = new DataView(new ArrayBuffer(8));

// ---------------------------------------------------------------------------------------------
// Encoding. Lengths are computed (and every value checked) first; the writers then put bytes at
// `out[o++]` with no further checks.

interface Loose {
  readonly type: string;
  readonly state?: string;
  readonly result?: string;
}

// The leaf of `m` in `t`; throws for a message that is not one of `t`'s.
function leafOf(t: Table, m: Loose): number {
  for (let i = 0; i < t.kinds.length; i++) {
    const k = t.kinds[i];
    const c: Loose | undefined = t.msgs[i];
    if (k === AUDIO || k === CONNECT) {
      if (m.type === (k === AUDIO ? "audio" : "connect")) return i;
    } else if (c !== undefined && c.type === m.type && c.state === m.state && c.result === m.result) {
      return i;
    }
  }
  throw new Error("msgpack: cannot encode a message of type " + m.type + " in this direction");
}

function isU32(n: number): boolean {
  return n >= 0 && n <= 0xffffffff && Math.floor(n) === n;
}

function uintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function countLength(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

function headerLength(h: AudioHeader): number {
  const v = h.byteIdx;
  if (!(isU32(h.streamIdx) && isU32(h.nBytes) && isU32(v.hi) && isU32(v.lo))) {
    throw new Error("msgpack: cannot encode an audio header with a field out of u32 range");
  }
  return 2 + uintLength(h.streamIdx) + (v.hi !== 0 ? 9 : uintLength(v.lo)) + uintLength(h.nBytes);
}

// A format takes 94, cb + 8 bytes, two uints, a fixstr header and the sample type name.
function formatListLength(list: readonly Format[]): number {
  let n = countLength(list.length);
  for (let i = 0; i < list.length; i++) {
    const f = list[i] as Format;
    const problem = formatProblem(f);
    if (problem !== undefined) throw new Error("msgpack: cannot encode a format: " + problem);
    n += 11 + uintLength(f.channelCount) + uintLength(f.bufferSize) + f.sampleType.length;
  }
  return n;
}

// Leaf of the message measured last, for the encoder that follows.
let leaf = 0;

// Each name takes 81, a fixstr header and its bytes, except a unit variant's (no 81).
function lengthOf(t: Table, m: Message): number {
  leaf = leafOf(t, m);
  const p = t.paths[leaf] as string[];
  const k = t.kinds[leaf];
  let n = k === UNIT ? -1 : 0;
  for (let i = 0; i < p.length; i++) n += 2 + (p[i] as string).length;
  if (k === NIL) n++;
  else if (m.type === "audio") n += headerLength(m.header);
  else if (m.type === "connect")
    n += 1 + formatListLength(m.formats.inputs) + formatListLength(m.formats.outputs);
  return n;
}

let out = EMPTY;
let o = 0;

function put(b: number): void {
  out[o++] = b;
}

function putBE(n: number, bytes: number): void {
  for (let s = (bytes - 1) * 8; s >= 0; s -= 8) put((n >>> s) & 0xff);
}

// Names are ASCII and shorter than 32 bytes: always a fixstr, as rmp-serde writes them.
function putStr(s: string): void {
  put(0xa0 | s.length);
  for (let i = 0; i < s.length; i++) put(s.charCodeAt(i));
}

function putUint(n: number): void {
  if (n < 0x80) put(n);
  else if (n < 0x100) {
    put(0xcc);
    put(n);
  } else if (n < 0x10000) {
    put(0xcd);
    putBE(n, 2);
  } else {
    put(0xce);
    putBE(n, 4);
  }
}

// The f64 goes through the DataView little-endian (bit-exact on Espruino), bytes reversed by hand.
function putFormatList(list: readonly Format[]): void {
  const n = list.length;
  if (n < 16) put(0x90 | n);
  else if (n < 0x10000) {
    put(0xdc);
    putBE(n, 2);
  } else {
    put(0xdd);
    putBE(n, 4);
  }
  for (let i = 0; i < n; i++) {
    const f = list[i] as Format;
    put(0x94);
    put(0xcb);
    f64Scratch.setFloat64(0, f.sampleRate, true);
    for (let j = 7; j >= 0; j--) put(f64Scratch.getUint8(j));
    putUint(f.channelCount);
    putUint(f.bufferSize);
    putStr(f.sampleType);
  }
}

function putHeader(h: AudioHeader): void {
  put(0x92);
  putUint(h.streamIdx);
  put(0x92);
  if (h.byteIdx.hi !== 0) {
    put(0xcf);
    putBE(h.byteIdx.hi, 4);
    putBE(h.byteIdx.lo, 4);
  } else putUint(h.byteIdx.lo);
  putUint(h.nBytes);
}

function encodeWith(t: Table, m: Message, buf: Uint8Array, offset: number): number {
  const len = lengthOf(t, m);
  if (!(offset >= 0 && offset + len <= buf.length) || Math.floor(offset) !== offset) {
    throw new Error(
      "msgpack: " + len + " bytes do not fit at offset " + offset + " of a " + buf.length + "-byte buffer",
    );
  }
  const p = t.paths[leaf] as string[];
  const k = t.kinds[leaf];
  out = buf;
  o = offset;
  for (let i = 0; i < p.length; i++) {
    if (k !== UNIT || i < p.length - 1) put(0x81);
    putStr(p[i] as string);
  }
  if (k === NIL) put(0xc0);
  else if (m.type === "audio") putHeader(m.header);
  else if (m.type === "connect") {
    put(0x92);
    putFormatList(m.formats.inputs);
    putFormatList(m.formats.outputs);
  }
  out = EMPTY;
  return len;
}

// ---------------------------------------------------------------------------------------------
// Decoding: a cursor P over B; the readers throw STOP after recording the failure, which the
// entry points turn into a DecodeFail. Every reader consumes at least one byte or stops, and
// every loop is bounded by a table's size or by the bytes left, so decoding always ends.

let B = EMPTY;
let P = 0;
// High 32 bits of the last uint read.
let HI = 0;
// The last string read: its bytes are B[S .. S+N).
let S = 0;
let N = 0;
// Whether the last collection header read was a map.
let ISMAP = false;

let failKind: DecodeErrorKind = "invalid";
let failAt = 0;
let failWhat = "";
const STOP = { stop: true };
/** Set by {@link stop} before it throws: how the catch tells STOP from any other throw (no object comparison, ESPRUINO.md). */
let stopped = false;

function stop(kind: DecodeErrorKind, at: number, what: string): never {
  failKind = kind;
  failAt = at;
  failWhat = what;
  stopped = true;
  throw STOP;
}

function need(n: number, what: string): void {
  if (P + n > B.length) stop("truncated", P, what);
}

// An n-byte big-endian unsigned integer, n <= 4.
function be(n: number, what: string): number {
  need(n, what);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (B[P++] as number);
  return v;
}

// An unsigned integer in any form (fixint, cc, cd, ce, cf): the low 32 bits, the high ones in HI.
function uint(what: string): number {
  const at = P;
  const b = be(1, what);
  HI = 0;
  if (b < 0x80) return b;
  if (b >= 0xcc && b <= 0xce) return be(1 << (b - 0xcc), what);
  if (b !== 0xcf) return stop("invalid", at, what);
  HI = be(4, what);
  return be(4, what);
}

function u32(min: number, what: string): number {
  const at = P;
  const v = uint(what);
  if (HI !== 0 || v < min) stop("invalid", at, what);
  return v;
}

const W_RATE = "f64 sample_rate (cb + 8 bytes), positive and normal";

function sampleRate(): number {
  const at = P;
  if (be(1, W_RATE) !== 0xcb) stop("invalid", at, W_RATE);
  need(8, W_RATE);
  for (let i = 0; i < 8; i++) f64Scratch.setUint8(7 - i, B[P++] as number);
  if (!isNormalPositiveF64Bits(f64Scratch.getUint32(4, true))) stop("invalid", at, W_RATE);
  return f64Scratch.getFloat64(0, true);
}

// A string (fixstr, str8/16/32): true with its bytes at B[S .. S+N), or false (nothing consumed)
// when the next item is not a string.
function str(what: string): boolean {
  need(1, what);
  const b = B[P] as number;
  if (b >= 0xa0 && b <= 0xbf) {
    P++;
    N = b & 31;
  } else if (b >= 0xd9 && b <= 0xdb) {
    P++;
    N = be(1 << (b - 0xd9), what);
  } else return false;
  need(N, what);
  S = P;
  P += N;
  return true;
}

function nameIs(name: string): boolean {
  if (N !== name.length) return false;
  for (let i = 0; i < N; i++) if (B[S + i] !== name.charCodeAt(i)) return false;
  return true;
}

function nameIn(names: readonly string[]): number {
  for (let i = 0; i < names.length; i++) if (nameIs(names[i] as string)) return i;
  return -1;
}

// An array or map header: its entry count (ISMAP tells which), or -1 (nothing consumed) when the
// next item is neither.
function coll(what: string): number {
  need(1, what);
  const b = B[P] as number;
  ISMAP = b < 0x90 || b > 0xdd;
  if (b >= 0x80 && b <= 0x9f) {
    P++;
    return b & 15;
  }
  if (b < 0xdc || b > 0xdf) return -1;
  P++;
  return be(b & 1 ? 4 : 2, what);
}

const W_VARIANT = "a variant: its name, or a one-entry map {name: value}";
const W_NEWTYPE = "a one-entry map {name: value} (newtype variant)";
const W_UNIT = "nil, the () of a variant";

// A variant's head: a bare name (returns false) or a one-entry map and its key (returns true).
function variant(): boolean {
  const at = P;
  if (str(W_VARIANT)) return false;
  if (coll(W_VARIANT) !== 1 || !ISMAP) stop("invalid", at, W_VARIANT);
  if (!str(W_VARIANT)) stop("invalid", P, W_VARIANT);
  return true;
}

function nil(): void {
  const at = P;
  if (be(1, W_UNIT) !== 0xc0) stop("invalid", at, W_UNIT);
}

// Variant names at `depth` of the paths that share the prefix of path `found`, for error texts.
function namesAt(paths: string[][], found: number, depth: number): string {
  let names = "";
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i] as string[];
    const name = p[depth];
    if (name !== undefined && (found < 0 || samePrefix(p, paths[found] as string[], depth))) {
      if (names.indexOf(" " + name + ",") < 0) names += " " + name + ",";
    }
  }
  return "one of" + names.slice(0, -1);
}

function samePrefix(p: string[], q: string[], depth: number): boolean {
  for (let k = 0; k < depth; k++) if (p[k] !== q[k]) return false;
  return true;
}

// Reads the variant names of a message and returns its leaf in `t`; a unit variant's () and a
// newtype's () are read too, the payloads are left to the caller.
function walk(t: Table): number {
  const paths = t.paths;
  let found = -1;
  for (let depth = 0; ; depth++) {
    const at = P;
    const isMap = variant();
    let i = 0;
    for (; i < paths.length; i++) {
      const p = paths[i] as string[];
      const name = p[depth];
      if (name !== undefined && nameIs(name) && (found < 0 || samePrefix(p, paths[found] as string[], depth)))
        break;
    }
    if (i === paths.length) stop("invalid", at, namesAt(paths, found, depth));
    found = i;
    const k = t.kinds[i];
    if (depth === (paths[i] as string[]).length - 1) {
      if (k === UNIT) {
        if (isMap) nil();
      } else {
        if (!isMap) stop("invalid", at, W_NEWTYPE);
        if (k === NIL) nil();
      }
      return i;
    }
    if (!isMap) stop("invalid", at, W_NEWTYPE);
  }
}

// A struct header: an array or a map with exactly `fields.length` entries (this decoder takes no
// unknown keys). Returns whether it is a map.
function struct(fields: string[], name: string): boolean {
  const at = P;
  if (coll(name) !== fields.length) stop("invalid", at, name + ": an array or map of " + fields.join(", "));
  return ISMAP;
}

const W_FIELD = "a field name";

// The field the k-th entry of a struct holds: k for an array, the key's field for a map (each
// field once; `seen` has bit i set for field i already read).
function field(isMap: boolean, fields: string[], k: number, seen: number): number {
  if (!isMap) return k;
  const at = P;
  const i = str(W_FIELD) ? nameIn(fields) : -1;
  if (i < 0 || (seen >> i) & 1) stop("invalid", at, W_FIELD + ", each once: " + fields.join(", "));
  return i;
}

function header(): AudioHeader {
  const m = struct(HEADER_FIELDS, "AudioMessageHeader");
  let streamIdx = 0;
  let hi = 0;
  let lo = 0;
  let nBytes = 0;
  for (let k = 0, seen = 0; k < 2; k++) {
    const i = field(m, HEADER_FIELDS, k, seen);
    seen |= 1 << i;
    if (i === 0) streamIdx = u32(0, "u32 stream_idx");
    else {
      const m2 = struct(STREAM_MSG_FIELDS, "stream_msg");
      for (let j = 0, seen2 = 0; j < 2; j++) {
        const f = field(m2, STREAM_MSG_FIELDS, j, seen2);
        seen2 |= 1 << f;
        if (f === 0) {
          lo = uint("u64 byte_idx");
          hi = HI;
        } else nBytes = u32(0, "u32 n_bytes");
      }
    }
  }
  return { streamIdx: streamIdx, byteIdx: { hi: hi, lo: lo }, nBytes: nBytes };
}

function format(): Format {
  const m = struct(FORMAT_FIELDS, "Format");
  let rate = 0;
  let channels = 0;
  let frames = 0;
  let type = 0;
  for (let k = 0, seen = 0; k < 4; k++) {
    const i = field(m, FORMAT_FIELDS, k, seen);
    seen |= 1 << i;
    if (i === 0) rate = sampleRate();
    else if (i === 1) channels = u32(1, "non-zero u32 channel_count");
    else if (i === 2) frames = u32(0, "u32 buffer_size");
    else {
      const at = P;
      const isMap = variant();
      type = nameIn(SAMPLE_TYPES);
      if (type < 0) stop("invalid", at, "a sample_type: one of " + SAMPLE_TYPES.join(", "));
      if (isMap) nil();
    }
  }
  return {
    sampleRate: rate,
    channelCount: channels,
    bufferSize: frames,
    sampleType: SAMPLE_TYPES[type] as SampleType,
  };
}

const W_LIST = "an array of formats";

// Formats are read one by one: a count larger than the bytes left stops at the first missing one.
function formats(): StreamFormats {
  const m = struct(FORMATS_FIELDS, "StreamFormats");
  let inputs: Format[] = [];
  let outputs: Format[] = [];
  for (let k = 0, seen = 0; k < 2; k++) {
    const i = field(m, FORMATS_FIELDS, k, seen);
    seen |= 1 << i;
    const at = P;
    const n = coll(W_LIST);
    if (n < 0 || ISMAP) stop("invalid", at, W_LIST);
    const list: Format[] = [];
    for (let j = 0; j < n; j++) list.push(format());
    if (i === 0) inputs = list;
    else outputs = list;
  }
  return { inputs: inputs, outputs: outputs };
}

function decodeWith(t: Table, buf: Uint8Array, offset: number): DecodeResult<Message> {
  B = buf;
  P = offset;
  stopped = false;
  let r: DecodeResult<Message>;
  try {
    if (!(offset >= 0) || Math.floor(offset) !== offset) stop("invalid", 0, "a byte offset");
    const i = walk(t);
    const k = t.kinds[i];
    const m: Message =
      k === AUDIO
        ? { type: "audio", header: header() }
        : k === CONNECT
          ? { type: "connect", formats: formats() }
          : (t.msgs[i] as Message);
    r = { ok: true, message: m, end: P };
  } catch (e) {
    r = stopped
      ? fail(failKind, failAt, failWhat)
      : fail("invalid", P, "msgpack (internal error: " + String(e) + ")");
  }
  B = EMPTY;
  return r;
}

function clientLength(m: ClientMessage): number {
  return lengthOf(CLIENT, m);
}

function serverLength(m: ServerMessage): number {
  return lengthOf(SERVER, m);
}

function encodeClient(m: ClientMessage, buf: Uint8Array, offset: number): number {
  return encodeWith(CLIENT, m, buf, offset);
}

function encodeServer(m: ServerMessage, buf: Uint8Array, offset: number): number {
  return encodeWith(SERVER, m, buf, offset);
}

// The client table has no Connect leaf, so only client messages come out.
function decodeClient(buf: Uint8Array, offset: number): DecodeResult<ClientMessage> {
  return decodeWith(CLIENT, buf, offset) as DecodeResult<ClientMessage>;
}

function decodeServer(buf: Uint8Array, offset: number): DecodeResult<ServerMessage> {
  return decodeWith(SERVER, buf, offset) as DecodeResult<ServerMessage>;
}

/** Client-to-server messages in rmp-serde's msgpack (encode: `to_vec`'s exact bytes). */
export const msgpackClient: MessageCodec<ClientMessage> = {
  encodingLength: clientLength,
  encode: encodeClient,
  decode: decodeClient,
};

/** Server-to-client messages in rmp-serde's msgpack (encode: `to_vec`'s exact bytes). */
export const msgpackServer: MessageCodec<ServerMessage> = {
  encodingLength: serverLength,
  encode: encodeServer,
  decode: decodeServer,
};

/** The msgpack codec, both directions: compact, for the firmware and as the host's encoder. */
export const msgpack: Codec = { name: "msgpack", client: msgpackClient, server: msgpackServer };
