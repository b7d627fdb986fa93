/**
 * The canonical JSON form of a message: what serde_json produces for the reference's nested
 * syfala_proto type (WIRE.md, Canonical JSON), e.g.
 * `{"Connected":{"Audio":{"stream_idx":0,"stream_msg":{"byte_idx":0,"n_bytes":1400}}}}`.
 * Used for logs, the CLI and tests. u64 values are exact both ways; floats print as serde_json
 * prints them (`48000.0`).
 *
 * Reading follows serde_json's rules for these types: a unit variant is its name as a string (or
 * a one-entry object whose value is null), a newtype variant a one-entry object, struct fields
 * may come in any order and unknown fields are ignored; integers must be integer literals in
 * range; an f64 may be written as an integer.
 */

import {
  type Format,
  isValidSampleRate,
  SAMPLE_TYPES,
  type SampleType,
  type StreamFormats,
  sampleTypeIndex,
} from "../format.js";
import {
  type AudioHeader,
  Client,
  type ClientMessage,
  type IOState,
  type Message,
  type Outcome,
  Server,
  type ServerMessage,
  type Side,
} from "../message.js";
import { type U64, u64Parse, u64ToString } from "../u64.js";
import { formatF64, isJsonObject, JsonNumber, type JsonValue, parseJson, quoteJson } from "./json-text.js";

// ---------------------------------------------------------------------------------------------
// Writing

function resultJson(r: Outcome): string {
  return r === "ok"
    ? '{"Ok":null}'
    : r === "failure"
      ? '{"Err":{"Failure":null}}'
      : '{"Err":{"Refusal":null}}';
}

function stateName(s: IOState): string {
  return s === "start" ? "Start" : "Stop";
}

function audioJson(h: AudioHeader): string {
  return (
    '{"Connected":{"Audio":{"stream_idx":' +
    h.streamIdx +
    ',"stream_msg":{"byte_idx":' +
    u64ToString(h.byteIdx) +
    ',"n_bytes":' +
    h.nBytes +
    "}}}}"
  );
}

function formatJson(f: Format): string {
  return (
    '{"sample_rate":' +
    formatF64(f.sampleRate) +
    ',"channel_count":' +
    f.channelCount +
    ',"buffer_size":' +
    f.bufferSize +
    ',"sample_type":"' +
    f.sampleType +
    '"}'
  );
}

function formatListJson(list: readonly Format[]): string {
  let out = "[";
  for (let i = 0; i < list.length; i++) out += (i > 0 ? "," : "") + formatJson(list[i] as Format);
  return out + "]";
}

/** The canonical JSON text of a client-to-server message. */
export function clientMessageToJson(m: ClientMessage): string {
  switch (m.type) {
    case "discovery":
      return '"Discovery"';
    case "connectionResult":
      return '{"ConnectionResult":' + resultJson(m.result) + "}";
    case "ioRequest":
      return '{"Connected":{"Control":{"RequestIOStateChange":{"' + stateName(m.state) + '":null}}}}';
    case "heartbeat":
      return '{"Connected":{"Control":"Heartbeat"}}';
    case "audio":
      return audioJson(m.header);
    case "disconnect":
      return '"Disconnect"';
  }
}

/** The canonical JSON text of a server-to-client message. */
export function serverMessageToJson(m: ServerMessage): string {
  switch (m.type) {
    case "connect":
      return (
        '{"Connect":{"inputs":' +
        formatListJson(m.formats.inputs) +
        ',"outputs":' +
        formatListJson(m.formats.outputs) +
        "}}"
      );
    case "ioResult":
      return (
        '{"Connected":{"Control":{"IOStateChangeResult":{"' +
        stateName(m.state) +
        '":' +
        resultJson(m.result) +
        "}}}}"
      );
    case "heartbeat":
      return '{"Connected":{"Control":"Heartbeat"}}';
    case "audio":
      return audioJson(m.header);
    case "disconnect":
      return '"Disconnect"';
  }
}

/** The canonical JSON text of a message sent by `side`. */
export function messageToJson(m: Message, side: Side): string {
  return side === "client"
    ? clientMessageToJson(m as ClientMessage)
    : serverMessageToJson(m as ServerMessage);
}

// ---------------------------------------------------------------------------------------------
// Reading. Each reader returns its value or throws a JsonShapeError; the public functions catch
// it and return a result, so nothing escapes.

/** Thrown inside this module only; turned into a result by the public readers. */
class JsonShapeError {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

function shape(reason: string): JsonShapeError {
  return new JsonShapeError(reason);
}

/** The variant name and content of an enum value: a string (unit) or a one-entry object. */
function variant(v: JsonValue, what: string): { name: string; value: JsonValue } {
  if (typeof v === "string") return { name: v, value: null };
  if (isJsonObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const name = keys[0] as string;
      return { name: name, value: v[name] as JsonValue };
    }
  }
  throw shape(what + ": expected a variant name or an object with exactly one key");
}

function unit(v: JsonValue, what: string): void {
  if (v !== null) throw shape(what + ": expected null");
}

function field(o: JsonValue, name: string, what: string): JsonValue {
  if (!isJsonObject(o)) throw shape(what + ": expected an object");
  const v = o[name];
  if (v === undefined) throw shape(what + ": missing field " + quoteJson(name));
  return v;
}

function isIntegerText(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return t.length > 0;
}

function readU64(v: JsonValue, what: string): U64 {
  const r = v instanceof JsonNumber && isIntegerText(v.text) ? u64Parse(v.text) : undefined;
  if (r === undefined) throw shape(what + ": expected an integer from 0 to 18446744073709551615");
  return r;
}

function readU32(v: JsonValue, what: string): number {
  const r = readU64(v, what);
  if (r.hi !== 0) throw shape(what + ": expected an integer from 0 to 4294967295");
  return r.lo;
}

function readOutcome(v: JsonValue, what: string): Outcome {
  const r = variant(v, what);
  if (r.name === "Ok") {
    unit(r.value, what + ".Ok");
    return "ok";
  }
  if (r.name !== "Err") throw shape(what + ": expected Ok or Err");
  const e = variant(r.value, what + ".Err");
  unit(e.value, what + ".Err." + e.name);
  if (e.name === "Failure") return "failure";
  if (e.name === "Refusal") return "refusal";
  throw shape(what + ".Err: expected Failure or Refusal");
}

function readState(name: string, what: string): IOState {
  if (name === "Start") return "start";
  if (name === "Stop") return "stop";
  throw shape(what + ": expected Start or Stop");
}

function readAudio(v: JsonValue): AudioHeader {
  const msg = field(v, "stream_msg", "Audio");
  return {
    streamIdx: readU32(field(v, "stream_idx", "Audio"), "stream_idx"),
    byteIdx: readU64(field(msg, "byte_idx", "stream_msg"), "byte_idx"),
    nBytes: readU32(field(msg, "n_bytes", "stream_msg"), "n_bytes"),
  };
}

function readFormat(v: JsonValue): Format {
  const rate = field(v, "sample_rate", "format");
  const hz = rate instanceof JsonNumber ? parseFloat(rate.text) : NaN;
  if (!isValidSampleRate(hz)) throw shape("sample_rate: expected a positive normal number");
  const channelCount = readU32(field(v, "channel_count", "format"), "channel_count");
  if (channelCount === 0) throw shape("channel_count: expected a non-zero u32");
  const st = field(v, "sample_type", "format");
  const idx = typeof st === "string" ? sampleTypeIndex(st) : -1;
  if (idx < 0) throw shape("sample_type: expected one of " + SAMPLE_TYPES.join(", "));
  return {
    sampleRate: hz,
    channelCount: channelCount,
    bufferSize: readU32(field(v, "buffer_size", "format"), "buffer_size"),
    sampleType: SAMPLE_TYPES[idx] as SampleType,
  };
}

function readFormatList(v: JsonValue, what: string): Format[] {
  if (!Array.isArray(v)) throw shape(what + ": expected an array of formats");
  const out: Format[] = [];
  for (let i = 0; i < v.length; i++) out.push(readFormat(v[i] as JsonValue));
  return out;
}

function readStreamFormats(v: JsonValue): StreamFormats {
  return {
    inputs: readFormatList(field(v, "inputs", "Connect"), "inputs"),
    outputs: readFormatList(field(v, "outputs", "Connect"), "outputs"),
  };
}

/**
 * The content of `Connected(...)`, shared by both directions: its audio header, or its control
 * variant (a Heartbeat's unit value already checked).
 */
function connectedControl(v: JsonValue): { audio?: AudioHeader; name: string; value: JsonValue } {
  const c = variant(v, "Connected");
  if (c.name === "Audio") return { audio: readAudio(c.value), name: "Audio", value: null };
  if (c.name !== "Control") throw shape("Connected: expected Control or Audio");
  const ctl = variant(c.value, "Control");
  if (ctl.name === "Heartbeat") unit(ctl.value, "Heartbeat");
  return ctl;
}

function readClient(v: JsonValue): ClientMessage {
  const top = variant(v, "client message");
  switch (top.name) {
    case "Discovery":
      unit(top.value, "Discovery");
      return Client.DISCOVERY;
    case "Disconnect":
      unit(top.value, "Disconnect");
      return Client.DISCONNECT;
    case "ConnectionResult":
      return { type: "connectionResult", result: readOutcome(top.value, "ConnectionResult") };
    case "Connected": {
      const ctl = connectedControl(top.value);
      if (ctl.audio !== undefined) return { type: "audio", header: ctl.audio };
      if (ctl.name === "Heartbeat") return Client.HEARTBEAT;
      if (ctl.name !== "RequestIOStateChange")
        throw shape("Control: expected RequestIOStateChange or Heartbeat");
      const s = variant(ctl.value, "RequestIOStateChange");
      unit(s.value, "RequestIOStateChange." + s.name);
      return readState(s.name, "RequestIOStateChange") === "start" ? Client.START_IO : Client.STOP_IO;
    }
  }
  throw shape("client message: expected Discovery, ConnectionResult, Connected or Disconnect");
}

function readServer(v: JsonValue): ServerMessage {
  const top = variant(v, "server message");
  switch (top.name) {
    case "Disconnect":
      unit(top.value, "Disconnect");
      return Server.DISCONNECT;
    case "Connect":
      return { type: "connect", formats: readStreamFormats(top.value) };
    case "Connected": {
      const ctl = connectedControl(top.value);
      if (ctl.audio !== undefined) return { type: "audio", header: ctl.audio };
      if (ctl.name === "Heartbeat") return Server.HEARTBEAT;
      if (ctl.name !== "IOStateChangeResult")
        throw shape("Control: expected IOStateChangeResult or Heartbeat");
      const s = variant(ctl.value, "IOStateChangeResult");
      return {
        type: "ioResult",
        state: readState(s.name, "IOStateChangeResult"),
        result: readOutcome(s.value, "IOStateChangeResult." + s.name),
      };
    }
  }
  throw shape("server message: expected Connect, Connected or Disconnect");
}

/** The result of reading a message from JSON. */
export type JsonMessageResult<M> = { ok: true; message: M } | { ok: false; reason: string };

/** Reads a parsed JSON value as a message sent by `side`. Never throws. */
export function messageFromJsonValue(v: JsonValue, side: "client"): JsonMessageResult<ClientMessage>;
export function messageFromJsonValue(v: JsonValue, side: "server"): JsonMessageResult<ServerMessage>;
export function messageFromJsonValue(v: JsonValue, side: Side): JsonMessageResult<Message>;
export function messageFromJsonValue(v: JsonValue, side: Side): JsonMessageResult<Message> {
  try {
    return { ok: true, message: side === "client" ? readClient(v) : readServer(v) };
  } catch (e) {
    if (e instanceof JsonShapeError) return { ok: false, reason: e.reason };
    throw e;
  }
}

/** Parses JSON text (numbers exact) and reads it as a message sent by `side`. Never throws. */
export function messageFromJson(text: string, side: "client"): JsonMessageResult<ClientMessage>;
export function messageFromJson(text: string, side: "server"): JsonMessageResult<ServerMessage>;
export function messageFromJson(text: string, side: Side): JsonMessageResult<Message>;
export function messageFromJson(text: string, side: Side): JsonMessageResult<Message> {
  const p = parseJson(text);
  if (!p.ok) return { ok: false, reason: "bad JSON at character " + p.offset + ": " + p.reason };
  return messageFromJsonValue(p.value, side);
}
