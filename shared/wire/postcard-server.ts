/**
 * Postcard as a server uses it: it decodes client messages and encodes server messages, nothing
 * else. The firmware takes this instead of the full codec so that the build's tree shaking
 * leaves out the other half (client encoding, server decoding: about 2 KB minified of a 24 KB
 * budget). Calling a missing half is a programming error: encoding throws, decoding reports
 * `invalid`.
 */
import type { ClientMessage, ServerMessage } from "../message.js";
import { type Codec, type DecodeResult, fail, type MessageCodec } from "./codec.js";
import {
  decodeClient,
  encodeServer,
  readClientAudio,
  retagServerAudio,
  serverLength,
  writeServerAudio,
} from "./postcard.js";

function noEncode(): number {
  throw new Error("postcard-server: encodes server messages only");
}

function noDecode(_buf: Uint8Array, offset: number): DecodeResult<ServerMessage> {
  return fail("invalid", offset, "nothing: decodes client messages only");
}

const client: MessageCodec<ClientMessage> = {
  encodingLength: noEncode,
  encode: noEncode,
  decode: decodeClient,
  readAudio: readClientAudio,
};
const server: MessageCodec<ServerMessage> = {
  encodingLength: serverLength,
  encode: encodeServer,
  decode: noDecode,
  writeAudio: writeServerAudio,
  retagAudio: retagServerAudio,
};

/** The server's half of postcard: client messages in, server messages out. */
export const postcardForServer: Codec = { name: "postcard", client: client, server: server };
