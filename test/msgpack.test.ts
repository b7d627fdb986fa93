/**
 * The msgpack codec (rmp-serde's mapping): the compact shared codec and the host's serde-complete
 * decoder, checked against the reference's bytes, against each other (every vector, every prefix,
 * 100,000 fuzzed inputs), on hand-written forms only serde-like decoders take, and by round trips
 * of arbitrary messages.
 */
import { isDeepStrictEqual } from "node:util";
import { Decoder, Encoder } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMsgpackHost, msgpackHost } from "../host/wire/msgpack-host.js";
import type { Format, StreamFormats } from "../shared/format.js";
import type { AudioHeader, ClientMessage, Message, Outcome, ServerMessage, Side } from "../shared/message.js";
import {
  type DecodeResult,
  describeFailure,
  encodeToBytes,
  type MessageCodec,
} from "../shared/wire/codec.js";
import { messageFromJson, messageToJson } from "../shared/wire/json.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { arbClientMessage, arbServerMessage } from "./arbitraries.js";
import { bytesToHex, hexToBytes, messageVectors } from "./support/vectors.js";

function compact(side: Side): MessageCodec<Message> {
  return (side === "client" ? msgpack.client : msgpack.server) as MessageCodec<Message>;
}

function host(bytes: Uint8Array, offset: number, side: Side): DecodeResult<Message> {
  return decodeMsgpackHost(bytes, offset, side);
}

function ok<M>(r: DecodeResult<M>): { message: M; end: number } {
  if (!r.ok) throw new Error(describeFailure(r));
  return r;
}

/** The expected model value of a vector: its canonical JSON, which must agree with its postcard bytes. */
function expectedMessage(v: (typeof messageVectors)[number]): Message {
  const fromJson = messageFromJson(v.json, v.side);
  if (!fromJson.ok) throw new Error(fromJson.reason);
  const pc = v.side === "client" ? postcard.client : postcard.server;
  expect(ok<Message>(pc.decode(hexToBytes(v.postcard), 0)).message).toEqual(fromJson.message);
  return fromJson.message;
}

describe("msgpack: golden vectors", () => {
  it("has the vectors", () => {
    expect(messageVectors.length).toBe(124);
  });
  for (const v of messageVectors) {
    it(v.desc, () => {
      const m = expectedMessage(v);
      const codec = compact(v.side);
      // encode: exactly rmp_serde::to_vec
      const len = codec.encodingLength(m);
      const buf = new Uint8Array(len);
      expect(codec.encode(m, buf, 0)).toBe(len);
      expect(bytesToHex(buf)).toBe(v.msgpack);
      // decode to_vec and to_vec_named, with both decoders, alone and followed by a payload
      for (const hex of [v.msgpack, v.msgpack_named]) {
        const headerLength = hex.length / 2;
        const alone = hexToBytes(hex);
        const inDatagram = hexToBytes("eeee" + hex + "0102fe");
        for (const r of [
          codec.decode(alone, 0),
          host(alone, 0, v.side),
          codec.decode(inDatagram, 2),
          host(inDatagram, 2, v.side),
        ]) {
          const d = ok(r);
          expect(d.message).toEqual(m);
          expect(messageToJson(d.message, v.side)).toBe(v.json);
        }
        expect(ok(codec.decode(alone, 0)).end).toBe(headerLength);
        expect(ok(host(alone, 0, v.side)).end).toBe(headerLength);
        expect(ok(codec.decode(inDatagram, 2)).end).toBe(2 + headerLength);
        expect(ok(host(inDatagram, 2, v.side)).end).toBe(2 + headerLength);
      }
    });
  }

  it("every proper prefix of every vector is truncated, for both decoders", () => {
    let prefixes = 0;
    for (const v of messageVectors) {
      for (const hex of [v.msgpack, v.msgpack_named]) {
        const bytes = hexToBytes(hex);
        for (let n = 0; n < bytes.length; n++) {
          const prefix = bytes.subarray(0, n);
          for (const r of [compact(v.side).decode(prefix, 0), host(prefix, 0, v.side)]) {
            expect(r.ok).toBe(false);
            if (!r.ok) {
              expect(r.error, `${v.desc}, ${n} bytes`).toBe("truncated");
              expect(r.offset).toBeLessThanOrEqual(n);
            }
          }
          prefixes++;
        }
      }
    }
    expect(prefixes).toBeGreaterThan(10_000);
  });
});

describe("host decoder: reads the decoder's position", () => {
  // decodeMsgpackHost finds the end of the header in @msgpack/msgpack's private `pos` field;
  // these fail if a library update moves it.
  it("reports where the header ends, whatever follows", () => {
    const header = "81a9436f6e6e656374656481a5417564696f920792cf0020000000000001cd0578";
    for (const payload of ["", "00", "c0c0c0", "ffffffff", "81a24f6bc0"]) {
      const r = ok(decodeMsgpackHost(hexToBytes(header + payload), 0, "client"));
      expect(r.end).toBe(header.length / 2);
      expect(r.message).toEqual({
        type: "audio",
        header: { streamIdx: 7, byteIdx: { hi: 0x200000, lo: 1 }, nBytes: 1400 },
      });
    }
  });
  it("the library still keeps the position in a numeric `pos` after the first value", () => {
    const d = new Decoder();
    const it = d.decodeMulti(hexToBytes("92010203"));
    expect(it.next().value).toEqual([1, 2]);
    expect((d as unknown as { pos: unknown }).pos).toBe(3);
    it.return(undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// Equivalence: the compact decoder accepts a subset of what the host decoder accepts, and where
// it accepts, the two agree on the message and the end.

const stats = { inputs: 0, compactOk: 0, hostOnly: 0 };

/** Throws when a result breaks the contract or the two decoders disagree. */
function agree(bytes: Uint8Array, side: Side): void {
  const c = compact(side).decode(bytes, 0);
  const h = host(bytes, 0, side);
  for (const r of [c, h]) {
    if (r.ok) {
      if (r.end <= 0 || r.end > bytes.length) throw new Error(`end ${r.end} outside 1..${bytes.length}`);
    } else {
      if (r.error !== "truncated" && r.error !== "invalid") throw new Error(`error kind ${String(r.error)}`);
      if (r.offset < 0 || r.offset > bytes.length) throw new Error(`offset ${r.offset} outside the input`);
      if (r.expected.length === 0 || r.expected.includes("internal error"))
        throw new Error(describeFailure(r));
    }
  }
  stats.inputs++;
  if (c.ok) {
    stats.compactOk++;
    if (!h.ok) throw new Error(`compact accepts, host rejects ${bytesToHex(bytes)}: ${describeFailure(h)}`);
    if (!isDeepStrictEqual(c.message, h.message) || c.end !== h.end) {
      throw new Error(`decoders disagree on ${bytesToHex(bytes)}`);
    }
  } else if (h.ok) stats.hostOnly++;
}

function agreeBothSides(bytes: Uint8Array): void {
  agree(bytes, "client");
  agree(bytes, "server");
}

const bases = messageVectors.flatMap((v) => [hexToBytes(v.msgpack), hexToBytes(v.msgpack_named)]);

/** A vector with a few random edits: byte flips, truncation, insertion, deletion. */
const mutated = fc
  .tuple(
    fc.constantFrom(...bases),
    fc.array(
      fc.record({ op: fc.integer({ min: 0, max: 3 }), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([base, edits]) => {
    let b = Array.from(base);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % (b.length + 1);
      if (e.op === 0 && b.length > 0) b[at % b.length] = e.byte;
      else if (e.op === 1) b = b.slice(0, at);
      else if (e.op === 2) b.splice(at, 0, e.byte);
      else b.splice(at, 1);
    }
    return new Uint8Array(b);
  });

function fixstr(s: string): string {
  return (0xa0 | s.length).toString(16) + Buffer.from(s, "latin1").toString("hex");
}

const NAMES = [
  "Discovery",
  "ConnectionResult",
  "Connected",
  "Disconnect",
  "Connect",
  "Control",
  "Audio",
  "RequestIOStateChange",
  "IOStateChangeResult",
  "Heartbeat",
  "Start",
  "Stop",
  "Ok",
  "Err",
  "Failure",
  "Refusal",
  "stream_idx",
  "stream_msg",
  "byte_idx",
  "n_bytes",
  "inputs",
  "outputs",
  "sample_rate",
  "channel_count",
  "buffer_size",
  "sample_type",
  "IEEF32",
  "U8",
  "I24",
];

/** msgpack-ish token soup: headers, names, numbers in several forms. */
const TOKENS = [
  ...NAMES.map(fixstr),
  "80",
  "81",
  "82",
  "84",
  "90",
  "91",
  "92",
  "94",
  "c0",
  "c3",
  "00",
  "01",
  "02",
  "0a",
  "7f",
  "cc80",
  "cd0578",
  "ceffffffff",
  "cf0020000000000001",
  "cf0000000000000001",
  "d0ff",
  "d101ff",
  "ca473b8000",
  "cb40e7700000000000",
  "cb0000000000000000",
  "dc0001",
  "dd00000002",
  "de0001",
  "d903",
  "c403",
  "d4ff00",
];

const NAME_SET = new Set(NAMES);

/** Where the names of NAMES sit in `b` as fixstrs: [start, end) pairs. */
function nameSpans(b: Uint8Array): [number, number][] {
  const spans: [number, number][] = [];
  for (let i = 0; i < b.length; i++) {
    const h = b[i] as number;
    if (h < 0xa0 || h > 0xbf) continue;
    const end = i + 1 + (h & 31);
    if (end <= b.length && NAME_SET.has(Buffer.from(b.subarray(i + 1, end)).toString("latin1"))) {
      spans.push([i, end]);
    }
  }
  return spans;
}

/** A vector with one or two of its names replaced by others (duplicate, unknown, misplaced names). */
const swapped = fc
  .tuple(
    fc.constantFrom(...bases),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NAMES)), { minLength: 1, maxLength: 2 }),
  )
  .map(([base, swaps]) => {
    let b = base;
    for (const [pick, name] of swaps) {
      const spans = nameSpans(b);
      const span = spans[pick % spans.length];
      if (span === undefined) break;
      b = hexToBytes(bytesToHex(b.subarray(0, span[0])) + fixstr(name) + bytesToHex(b.subarray(span[1])));
    }
    return b;
  });

const soup = fc
  .array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 14 })
  .map((ts) => hexToBytes(ts.join("")));

describe("msgpack: the compact decoder agrees with the host decoder", () => {
  it("on every vector and its prefixes", () => {
    for (const b of bases) for (let n = 0; n <= b.length; n++) agreeBothSides(b.subarray(0, n));
  });

  it("on 100,000 fuzzed inputs (random bytes, mutated vectors, swapped names, token soup)", () => {
    const before = { ...stats };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => agreeBothSides(b)),
      { numRuns: 25_000, seed: 0x6d7067 },
    );
    fc.assert(
      fc.property(mutated, (b) => agreeBothSides(b)),
      { numRuns: 40_000, seed: 0x6d7068 },
    );
    fc.assert(
      fc.property(swapped, (b) => agreeBothSides(b)),
      { numRuns: 20_000, seed: 0x6d7069 },
    );
    fc.assert(
      fc.property(soup, (b) => agreeBothSides(b)),
      { numRuns: 15_000, seed: 0x6d706a },
    );
    // Each input is decoded for both directions.
    expect(stats.inputs - before.inputs).toBe(200_000);
    // The fuzz reaches messages both decoders accept and forms only the host takes.
    expect(stats.compactOk - before.compactOk).toBeGreaterThan(1000);
    expect(stats.hostOnly - before.hostOnly).toBeGreaterThan(100);
    // Both decoders still work afterwards.
    const hb = hexToBytes("81a9436f6e6e656374656481a7436f6e74726f6ca9486561727462656174");
    expect(ok(msgpack.client.decode(hb, 0)).message).toEqual({ type: "heartbeat" });
    expect(ok(decodeMsgpackHost(hb, 0, "server")).message).toEqual({ type: "heartbeat" });
  });

  it("a huge declared count fails at the first missing format, for both", () => {
    const huge = hexToBytes("81" + fixstr("Connect") + "92dd" + "ffffffff");
    expect(msgpack.server.decode(huge, 0)).toMatchObject({ ok: false, error: "truncated" });
    expect(decodeMsgpackHost(huge, 0, "server")).toMatchObject({ ok: false, error: "truncated" });
    const huge16 = hexToBytes("81" + fixstr("Connect") + "92dcffff" + "94");
    expect(msgpack.server.decode(huge16, 0)).toMatchObject({ ok: false, error: "truncated" });
    expect(decodeMsgpackHost(huge16, 0, "server")).toMatchObject({ ok: false, error: "truncated" });
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-written forms. Expected messages are written out by hand.

function hex(...parts: string[]): Uint8Array {
  return hexToBytes(parts.join(""));
}

const str8 = (s: string) => "d9" + s.length.toString(16).padStart(2, "0") + Buffer.from(s).toString("hex");
const str16 = (s: string) => "da" + s.length.toString(16).padStart(4, "0") + Buffer.from(s).toString("hex");
const bin8 = (s: string) => "c4" + s.length.toString(16).padStart(2, "0") + Buffer.from(s).toString("hex");
const CONNECTED = "81" + fixstr("Connected");
const CONTROL = "81" + fixstr("Control");
const AUDIO = CONNECTED + "81" + fixstr("Audio");

function audio(streamIdx: number, hi: number, lo: number, nBytes: number): Message {
  const header: AudioHeader = { streamIdx, byteIdx: { hi, lo }, nBytes };
  return { type: "audio", header };
}

const hostAccepts: { label: string; side: Side; bytes: Uint8Array; message: Message; compactToo: boolean }[] =
  [
    {
      label: "a unit variant as str8",
      side: "client",
      bytes: hex(str8("Discovery")),
      message: { type: "discovery" },
      compactToo: true,
    },
    {
      label: "a unit variant as {name: nil}",
      side: "client",
      bytes: hex("81", fixstr("Discovery"), "c0"),
      message: { type: "discovery" },
      compactToo: true,
    },
    {
      label: "a nested unit variant as {name: nil}",
      side: "server",
      bytes: hex(CONNECTED, CONTROL, "81", fixstr("Heartbeat"), "c0"),
      message: { type: "heartbeat" },
      compactToo: true,
    },
    {
      label: "a unit variant as bin8",
      side: "client",
      bytes: hex(bin8("Disconnect")),
      message: { type: "disconnect" },
      compactToo: false,
    },
    {
      label: "a unit variant by index (fixint)",
      side: "client",
      bytes: hex("00"),
      message: { type: "discovery" },
      compactToo: false,
    },
    {
      label: "a unit variant by index (cf)",
      side: "server",
      bytes: hex("cf0000000000000002"),
      message: { type: "disconnect" },
      compactToo: false,
    },
    {
      label: "map16 and str16 for a newtype variant, Err(Refusal)",
      side: "client",
      bytes: hex("de0001", str16("ConnectionResult"), "de0001", fixstr("Err"), "81", fixstr("Refusal"), "c0"),
      message: { type: "connectionResult", result: "refusal" },
      compactToo: true,
    },
    {
      label: "newtype variants by index: Connected(Control(RequestIOStateChange(Stop(()))))",
      side: "client",
      bytes: hex(CONNECTED, CONTROL, "8100", "8101", "c0"),
      message: { type: "ioRequest", state: "stop" },
      compactToo: false,
    },
    {
      label: "IOStateChangeResult(Stop(Ok(()))) with Ok in a map16",
      side: "server",
      bytes: hex(
        CONNECTED,
        CONTROL,
        "81",
        fixstr("IOStateChangeResult"),
        "81",
        fixstr("Stop"),
        "de0001",
        fixstr("Ok"),
        "c0",
      ),
      message: { type: "ioResult", state: "stop", result: "ok" },
      compactToo: true,
    },
    {
      label: "non-minimal integers (cf, d1, ce), map16 and array16 structs, str16 keys",
      side: "client",
      bytes: hex(
        AUDIO,
        "de0002",
        fixstr("stream_idx"),
        "cf0000000000000007",
        str16("stream_msg"),
        "dc0002",
        "d10001",
        "ce00000578",
      ),
      message: audio(7, 0, 1, 1400),
      compactToo: false,
    },
    {
      label: "cc/cd/ce/cf for small values (unsigned forms the compact decoder takes too)",
      side: "server",
      bytes: hex(AUDIO, "92", "cc07", "92", "cf0000000000000001", "cd0005"),
      message: audio(7, 0, 1, 5),
      compactToo: true,
    },
    {
      label: "struct map with unknown keys (incl. __proto__, ext, nil-keyed maps), in any order",
      side: "server",
      bytes: hex(
        AUDIO,
        "84",
        fixstr("stream_msg"),
        "82",
        fixstr("n_bytes"),
        "05",
        fixstr("byte_idx"),
        "cfffffffffffffffff",
        fixstr("__proto__"),
        "93c0c3d4ff00",
        fixstr("stream_idx"),
        "2a",
        fixstr("junk"),
        "81c0c0",
      ),
      message: audio(42, 0xffffffff, 0xffffffff, 5),
      compactToo: false,
    },
    {
      label: "a key that is not UTF-8 but decodes leniently to a field name is an unknown key",
      side: "client",
      // "stream_id" + overlong "x" (c1 b8): serde compares bytes, so this is no stream_idx
      bytes: hex(
        AUDIO,
        "83",
        "ab",
        Buffer.from("stream_id").toString("hex"),
        "c1b8",
        "09",
        fixstr("stream_idx"),
        "03",
        fixstr("stream_msg"),
        "920000",
      ),
      message: audio(3, 0, 0, 0),
      compactToo: false,
    },
    {
      label: "struct fields by index, an out-of-range index ignored",
      side: "client",
      bytes: hex(AUDIO, "83", "0003", "05c0", "01", "82", "0109", "0002"),
      message: audio(3, 0, 2, 9),
      compactToo: false,
    },
    {
      label: "Connect: f32 and integer sample rates, non-minimal ints, sample types as map, index and bin",
      side: "server",
      bytes: hex(
        "81",
        fixstr("Connect"),
        "82",
        fixstr("outputs"),
        "dc0001",
        "94ca473b8000d002cd0020",
        "81",
        fixstr("IEEF32"),
        "c0",
        fixstr("inputs"),
        "92",
        "94cdbb8001000a",
        "84",
        fixstr("sample_type"),
        bin8("I16"),
        fixstr("buffer_size"),
        "00",
        fixstr("channel_count"),
        "cc01",
        fixstr("sample_rate"),
        "d20000ac44",
      ),
      message: {
        type: "connect",
        formats: {
          inputs: [
            { sampleRate: 48000, channelCount: 1, bufferSize: 0, sampleType: "IEEF32" },
            { sampleRate: 44100, channelCount: 1, bufferSize: 0, sampleType: "I16" },
          ],
          outputs: [{ sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: "IEEF32" }],
        },
      },
      compactToo: false,
    },
    {
      label: "Connect in to_vec_named form with a sample type as {name: nil} and array16 lists",
      side: "server",
      bytes: hex(
        "81",
        fixstr("Connect"),
        "82",
        fixstr("outputs"),
        "dc0000",
        fixstr("inputs"),
        "dc0001",
        "84",
        fixstr("sample_type"),
        "81",
        fixstr("U8"),
        "c0",
        fixstr("buffer_size"),
        "20",
        fixstr("channel_count"),
        "01",
        fixstr("sample_rate"),
        "cb40bf400000000000",
      ),
      message: {
        type: "connect",
        formats: {
          inputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 32, sampleType: "U8" }],
          outputs: [],
        },
      },
      compactToo: true,
    },
  ];

const FORMAT_TAIL = "0220" + fixstr("IEEF32");
function connectWithRate(rate: string): Uint8Array {
  return hex("81", fixstr("Connect"), "92", "9194", rate, FORMAT_TAIL, "90");
}

const hostRejects: { label: string; side: Side; bytes: Uint8Array; error: "invalid" | "truncated" }[] = [
  {
    label: "Ok as a bare name (a newtype variant)",
    side: "client",
    bytes: hex("81", fixstr("ConnectionResult"), fixstr("Ok")),
    error: "invalid",
  },
  {
    label: "Start as a bare name (a newtype variant)",
    side: "client",
    bytes: hex(CONNECTED, CONTROL, "81", fixstr("RequestIOStateChange"), fixstr("Start")),
    error: "invalid",
  },
  {
    label: "a unit variant with a value",
    side: "client",
    bytes: hex("81", fixstr("Discovery"), "00"),
    error: "invalid",
  },
  {
    label: "a two-entry variant map",
    side: "client",
    bytes: hex("82", fixstr("Discovery"), "c0", fixstr("Disconnect"), "c0"),
    error: "invalid",
  },
  { label: "an empty variant map", side: "client", bytes: hex("80"), error: "invalid" },
  { label: "an unknown variant", side: "client", bytes: hex(fixstr("Discovered")), error: "invalid" },
  { label: "a variant index out of range", side: "client", bytes: hex("04"), error: "invalid" },
  { label: "a negative variant index", side: "client", bytes: hex("ff"), error: "invalid" },
  {
    label: "stream_idx 2^32",
    side: "client",
    bytes: hex(AUDIO, "92", "cf0000000100000000", "920000"),
    error: "invalid",
  },
  { label: "n_bytes -1", side: "client", bytes: hex(AUDIO, "9200", "9200", "d0ff"), error: "invalid" },
  {
    label: "byte_idx -1 (int64)",
    side: "client",
    bytes: hex(AUDIO, "9200", "92d3ffffffffffffffff00"),
    error: "invalid",
  },
  {
    label: "n_bytes as a string",
    side: "client",
    bytes: hex(AUDIO, "9200", "9200", fixstr("5")),
    error: "invalid",
  },
  {
    label: "a header array with 3 elements",
    side: "client",
    bytes: hex(AUDIO, "930092000000"),
    error: "invalid",
  },
  { label: "a header array with 1 element", side: "client", bytes: hex(AUDIO, "9100"), error: "invalid" },
  {
    label: "a duplicate field",
    side: "client",
    bytes: hex(
      AUDIO,
      "83",
      fixstr("stream_idx"),
      "01",
      fixstr("stream_idx"),
      "02",
      fixstr("stream_msg"),
      "920000",
    ),
    error: "invalid",
  },
  {
    label: "a missing field",
    side: "client",
    bytes: hex(AUDIO, "81", fixstr("stream_idx"), "01"),
    error: "invalid",
  },
  {
    label: "a duplicate field in place of a missing one",
    side: "client",
    bytes: hex(AUDIO, "82", fixstr("stream_idx"), "01", fixstr("stream_idx"), "02"),
    error: "invalid",
  },
  {
    label: "a duplicate field in place of a missing one, in a format",
    side: "server",
    bytes: hex(
      "81",
      fixstr("Connect"),
      "92",
      "91",
      "84",
      fixstr("sample_rate"),
      "cb40e7700000000000",
      fixstr("channel_count"),
      "01",
      fixstr("buffer_size"),
      "00",
      fixstr("buffer_size"),
      "00",
      "90",
    ),
    error: "invalid",
  },
  {
    label: "a duplicate field given once by name and once by index",
    side: "client",
    bytes: hex(AUDIO, "83", fixstr("stream_idx"), "01", "0002", fixstr("stream_msg"), "920000"),
    error: "invalid",
  },
  {
    label: "a negative field index",
    side: "client",
    bytes: hex(AUDIO, "83", "ff00", "0001", "01920000"),
    error: "invalid",
  },
  {
    label: "a nil map key",
    side: "client",
    bytes: hex(AUDIO, "83", "c000", "0001", "01920000"),
    error: "invalid",
  },
  {
    label: "channel_count 0",
    side: "server",
    bytes: hex("81", fixstr("Connect"), "92", "9194cb40e7700000000000", "0020", fixstr("U8"), "90"),
    error: "invalid",
  },
  { label: "sample rate 0", side: "server", bytes: connectWithRate("cb0000000000000000"), error: "invalid" },
  { label: "sample rate -0 (f32)", side: "server", bytes: connectWithRate("ca80000000"), error: "invalid" },
  {
    label: "sample rate infinite (f32)",
    side: "server",
    bytes: connectWithRate("ca7f800000"),
    error: "invalid",
  },
  { label: "sample rate NaN (f32)", side: "server", bytes: connectWithRate("ca7fc00000"), error: "invalid" },
  {
    label: "sample rate subnormal (f64)",
    side: "server",
    bytes: connectWithRate("cb000fffffffffffff"),
    error: "invalid",
  },
  { label: "sample rate -1 (int)", side: "server", bytes: connectWithRate("ff"), error: "invalid" },
  {
    label: "sample rate as a string",
    side: "server",
    bytes: connectWithRate(fixstr("48000")),
    error: "invalid",
  },
  {
    label: "a format list as a map",
    side: "server",
    bytes: hex("81", fixstr("Connect"), "92", "80", "90"),
    error: "invalid",
  },
  { label: "a reserved byte", side: "client", bytes: hex("81", fixstr("Discovery"), "c1"), error: "invalid" },
  { label: "a map key without its value", side: "client", bytes: hex(CONNECTED), error: "truncated" },
  {
    label: "a str8 name cut short",
    side: "client",
    bytes: hex("d909", Buffer.from("Disc").toString("hex")),
    error: "truncated",
  },
];

describe("host decoder: forms only serde-like decoders take", () => {
  for (const c of hostAccepts) {
    it(`accepts ${c.label}`, () => {
      const d = ok(decodeMsgpackHost(c.bytes, 0, c.side));
      expect(d.message).toEqual(c.message);
      expect(d.end).toBe(c.bytes.length);
      const withPayload = new Uint8Array([...c.bytes, 0xc1, 0x00]);
      expect(ok(decodeMsgpackHost(withPayload, 0, c.side)).end).toBe(c.bytes.length);
      const r = compact(c.side).decode(c.bytes, 0);
      expect(
        r.ok,
        describeFailure(r.ok ? { ok: false, error: "invalid", offset: 0, expected: "-" } : r),
      ).toBe(c.compactToo);
      if (r.ok) expect(r.message).toEqual(c.message);
      else expect(r.error).toBe("invalid");
    });
  }
  for (const c of hostRejects) {
    it(`rejects ${c.label}`, () => {
      for (const r of [decodeMsgpackHost(c.bytes, 0, c.side), compact(c.side).decode(c.bytes, 0)]) {
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error).toBe(c.error);
          expect(r.expected.length).toBeGreaterThan(0);
        }
      }
    });
  }
  it("never throws on odd offsets", () => {
    const b = hexToBytes(fixstr("Discovery"));
    for (const offset of [-1, 0.5, 11, Number.NaN]) {
      for (const r of [decodeMsgpackHost(b, offset, "client"), msgpack.client.decode(b, offset)]) {
        expect(r.ok).toBe(false);
      }
    }
    expect(decodeMsgpackHost(b, 11, "client")).toMatchObject({ ok: false, error: "truncated" });
    expect(msgpack.client.decode(b, 11)).toMatchObject({ ok: false, error: "truncated" });
  });
});

// ---------------------------------------------------------------------------------------------
// The encoder.

describe("msgpack encoder", () => {
  it("throws before writing when the buffer is too small, leaving it untouched", () => {
    const m: ClientMessage = {
      type: "audio",
      header: { streamIdx: 0, byteIdx: { hi: 1, lo: 0 }, nBytes: 0 },
    };
    const len = msgpack.client.encodingLength(m);
    const buf = new Uint8Array(len + 4).fill(0xaa);
    expect(() => msgpack.client.encode(m, buf, 5)).toThrow(/do not fit/);
    expect(() => msgpack.client.encode(m, buf.subarray(0, len - 1), 0)).toThrow(/do not fit/);
    expect(buf.every((b) => b === 0xaa)).toBe(true);
    expect(msgpack.client.encode(m, buf, 4)).toBe(len);
  });

  it("throws on out-of-range values", () => {
    const bad: Message[] = [
      { type: "audio", header: { streamIdx: -1, byteIdx: { hi: 0, lo: 0 }, nBytes: 0 } },
      { type: "audio", header: { streamIdx: 0, byteIdx: { hi: 2 ** 32, lo: 0 }, nBytes: 0 } },
      { type: "audio", header: { streamIdx: 0, byteIdx: { hi: 0, lo: 0.5 }, nBytes: 0 } },
      { type: "audio", header: { streamIdx: 0, byteIdx: { hi: 0, lo: 0 }, nBytes: 2 ** 32 } },
    ];
    for (const m of bad)
      expect(() => encodeToBytes(msgpack.client as MessageCodec<Message>, m)).toThrow(Error);
    const format: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: "I16" };
    const formats: Format[] = [
      { ...format, sampleRate: 0 },
      { ...format, sampleRate: Number.NaN },
      { ...format, sampleRate: 5e-324 },
      { ...format, channelCount: 0 },
      { ...format, bufferSize: -1 },
    ];
    for (const f of formats) {
      const m: ServerMessage = { type: "connect", formats: { inputs: [f], outputs: [] } };
      expect(() => encodeToBytes(msgpack.server, m)).toThrow(Error);
    }
    // A message of the other direction.
    const connect = { type: "connect", formats: { inputs: [], outputs: [] } } as unknown as ClientMessage;
    expect(() => encodeToBytes(msgpack.client, connect)).toThrow(/cannot encode/);
  });

  it("writes array16 and array32 headers for long format lists, exactly as counted", () => {
    const f: Format = { sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: "IEEF32" };
    for (const [n, head] of [
      [15, "9f"],
      [16, "dc0010"],
      [65535, "dcffff"],
      [65536, "dd00010000"],
    ] as const) {
      const formats: StreamFormats = { inputs: new Array<Format>(n).fill(f), outputs: [] };
      const m: ServerMessage = { type: "connect", formats };
      const bytes = encodeToBytes(msgpack.server, m);
      const prefix = "81" + fixstr("Connect") + "92" + head + "94cb40e7700000000000";
      expect(bytesToHex(bytes.subarray(0, prefix.length / 2))).toBe(prefix);
      expect(bytesToHex(bytes.subarray(bytes.length - 1))).toBe("90");
      expect(ok(msgpack.server.decode(bytes, 0)).message).toEqual(m);
      expect(ok(decodeMsgpackHost(bytes, 0, "server")).message).toEqual(m);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

function roundTrip(codec: MessageCodec<Message>, side: Side, m: Message, pad: number, fill: number): void {
  const len = codec.encodingLength(m);
  const buf = new Uint8Array(pad + len + 7).fill(fill);
  expect(codec.encode(m, buf, pad)).toBe(len);
  for (let i = 0; i < pad; i++) expect(buf[i]).toBe(fill);
  for (let i = pad + len; i < buf.length; i++) expect(buf[i]).toBe(fill);
  const c = ok(codec.decode(buf, pad));
  expect(c.message).toEqual(m);
  expect(c.end).toBe(pad + len);
  const h = ok(decodeMsgpackHost(buf, pad, side));
  expect(h.message).toEqual(m);
  expect(h.end).toBe(pad + len);
  const hc = side === "client" ? msgpackHost.client : msgpackHost.server;
  expect(ok<Message>(hc.decode(buf, pad)).message).toEqual(m);
  expect(bytesToHex(encodeToBytes(hc as MessageCodec<Message>, m))).toBe(
    bytesToHex(buf.subarray(pad, pad + len)),
  );
}

/** The message in serde's named form, as plain JS values for @msgpack/msgpack's encoder. */
function namedValue(m: Message): unknown {
  const result = (o: Outcome) =>
    o === "ok" ? { Ok: null } : { Err: o === "failure" ? { Failure: null } : { Refusal: null } };
  const state = (s: "start" | "stop") => (s === "start" ? "Start" : "Stop");
  const format = (f: Format) => ({
    sample_rate: f.sampleRate,
    channel_count: f.channelCount,
    buffer_size: f.bufferSize,
    sample_type: f.sampleType,
  });
  switch (m.type) {
    case "discovery":
      return "Discovery";
    case "disconnect":
      return "Disconnect";
    case "heartbeat":
      return { Connected: { Control: "Heartbeat" } };
    case "connectionResult":
      return { ConnectionResult: result(m.result) };
    case "ioRequest":
      return { Connected: { Control: { RequestIOStateChange: { [state(m.state)]: null } } } };
    case "ioResult":
      return { Connected: { Control: { IOStateChangeResult: { [state(m.state)]: result(m.result) } } } };
    case "audio": {
      const { streamIdx, byteIdx, nBytes } = m.header;
      const b = (BigInt(byteIdx.hi) << 32n) | BigInt(byteIdx.lo);
      return {
        Connected: { Audio: { stream_idx: streamIdx, stream_msg: { byte_idx: b, n_bytes: nBytes } } },
      };
    }
    case "connect":
      return { Connect: { inputs: m.formats.inputs.map(format), outputs: m.formats.outputs.map(format) } };
  }
}

const namedEncoder = new Encoder({ useBigInt64: true });

describe("msgpack properties", () => {
  const params = { numRuns: 1500, seed: 0x6d706b };
  it("client messages round-trip through encode and both decoders, at an offset", () => {
    fc.assert(
      fc.property(arbClientMessage, fc.nat(9), fc.integer({ min: 0, max: 255 }), (m, pad, fill) =>
        roundTrip(msgpack.client as MessageCodec<Message>, "client", m, pad, fill),
      ),
      params,
    );
  });
  it("server messages round-trip through encode and both decoders, at an offset", () => {
    fc.assert(
      fc.property(arbServerMessage, fc.nat(9), fc.integer({ min: 0, max: 255 }), (m, pad, fill) =>
        roundTrip(msgpack.server as MessageCodec<Message>, "server", m, pad, fill),
      ),
      params,
    );
  });
  it("the host decoder reads @msgpack/msgpack's encoding of the named form (other int and float forms)", () => {
    const sides = fc.oneof(
      arbClientMessage.map((m) => ({ side: "client" as const, m: m as Message })),
      arbServerMessage.map((m) => ({ side: "server" as const, m: m as Message })),
    );
    fc.assert(
      fc.property(sides, ({ side, m }) => {
        const bytes = namedEncoder.encode(namedValue(m));
        const d = ok(decodeMsgpackHost(bytes, 0, side));
        expect(d.message).toEqual(m);
        expect(d.end).toBe(bytes.length);
      }),
      params,
    );
  });
});
