/**
 * The one contract every codec follows (dns-packet's encode/decode/encodingLength, with an
 * offset): encode into a caller's buffer at an offset and report the length; decode from an
 * offset and return the message plus where the rest of the datagram (the audio payload) starts.
 * Payloads are never copied.
 *
 * Decoding fails in exactly two ways, as data rather than exceptions (receive loops never throw):
 * `truncated` (the input ended early) and `invalid` (bytes that no encoder produces), each with
 * the offset where it went wrong and what was expected there.
 */

import type { AudioHeader, ClientMessage, ServerMessage } from "../message.js";
import type { U64 } from "../u64.js";

/** The two decode failures. */
export type DecodeErrorKind = "truncated" | "invalid";

/** A successful decode. */
export interface DecodeOk<M> {
  readonly ok: true;
  readonly message: M;
  /** Offset of the first byte after the encoded message: the audio payload, or ignored trailing bytes. */
  readonly end: number;
}

/** A failed decode. */
export interface DecodeFail {
  readonly ok: false;
  readonly error: DecodeErrorKind;
  /** Offset (in the decoded buffer) where decoding failed. */
  readonly offset: number;
  /** What was expected at that offset, in words. */
  readonly expected: string;
}

export type DecodeResult<M> = DecodeOk<M> | DecodeFail;

/** The wire codecs: postcard (syfala_network's default) and msgpack (rmp-serde's mapping). */
export type CodecName = "postcard" | "msgpack";

/** One codec for one direction's messages. */
export interface MessageCodec<M> {
  /** Bytes `msg` takes when encoded (the header only; audio payloads are not part of it). */
  encodingLength(msg: M): number;
  /**
   * Writes `msg` at `buf[offset...]` and returns the number of bytes written. Throws when the
   * buffer is too small or the message holds out-of-range values (a programming error, never a
   * network one).
   */
  encode(msg: M, buf: Uint8Array, offset: number): number;
  /** Decodes one message from `buf[offset...]` (to the end of `buf`). Never throws. */
  decode(buf: Uint8Array, offset: number): DecodeResult<M>;
  /**
   * The audio path's shortcut, for codecs whose audio header has a fixed layout (postcard): when
   * `buf[offset...]` starts with this direction's audio header, writes its fields into `into`
   * (`into.byteIdx` is written in place, not replaced) and returns the payload's offset; else
   * returns -1 and `decode` says what the bytes are. Allocates nothing, never throws. On
   * Espruino every call, property lookup and object counts (ESPRUINO.md, "Speed"): the
   * general decode of an audio message costs several times this.
   */
  readAudio?(buf: Uint8Array, offset: number, into: AudioHeader): number;
  /**
   * The other half of the shortcut: writes the audio header (`streamIdx`, `byteIdx`, `nBytes`)
   * at `buf[offset...]` and returns its length, without building a message. The caller has
   * checked that it fits.
   */
  writeAudio?(buf: Uint8Array, offset: number, streamIdx: number, byteIdx: U64, nBytes: number): number;
  /**
   * The loopback's turnaround, for codecs whose two directions' audio headers differ in their
   * tag alone (postcard): rewrites, in place, the audio header at `buf[offset...]` that the
   * other direction's `readAudio` accepted into this direction's, with the same fields.
   */
  retagAudio?(buf: Uint8Array, offset: number): void;
}

/** A codec: both directions under one name. */
export interface Codec {
  readonly name: CodecName;
  readonly client: MessageCodec<ClientMessage>;
  readonly server: MessageCodec<ServerMessage>;
}

/** Builds a failed decode result. */
export function fail(error: DecodeErrorKind, offset: number, expected: string): DecodeFail {
  return { ok: false, error: error, offset: offset, expected: expected };
}

/** A one-line description of a decode failure, e.g. "truncated at byte 3: expected u32 stream_idx". */
export function describeFailure(f: DecodeFail): string {
  return f.error + " at byte " + f.offset + ": expected " + f.expected;
}

/**
 * Which codec produced a datagram, from its first byte. Canonical postcard messages start with a
 * tag below 0x0a; rmp-serde's messages start with a string (a unit variant name: fixstr, str8/16/32)
 * or a map (a newtype variant: fixmap, map16/32). Anything else is handed to postcard, whose
 * decoder then reports it. A non-canonical postcard tag such as `80 00` is taken for msgpack: not
 * worth telling apart (WIRE.md).
 */
export function detectCodec(buf: Uint8Array, offset: number): CodecName {
  const b = buf[offset];
  if (b === undefined) return "postcard";
  if ((b >= 0x80 && b <= 0x8f) || (b >= 0xa0 && b <= 0xbf)) return "msgpack";
  if (b === 0xd9 || b === 0xda || b === 0xdb || b === 0xde || b === 0xdf) return "msgpack";
  return "postcard";
}

/** Encodes `msg` into a new array of exactly its length (for control messages and tools, not the audio path). */
export function encodeToBytes<M>(codec: MessageCodec<M>, msg: M): Uint8Array {
  const buf = new Uint8Array(codec.encodingLength(msg));
  codec.encode(msg, buf, 0);
  return buf;
}
