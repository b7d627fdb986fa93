/** Client datagrams built by hand for the engine tests: any message, and audio with a chosen n_bytes. */
import type { ClientMessage } from "../../shared/message.js";
import { u64 } from "../../shared/u64.js";
import type { Codec } from "../../shared/wire/codec.js";
import { postcard } from "../../shared/wire/postcard.js";

/** `m` encoded in `codec` (postcard by default). */
export function enc(m: ClientMessage, codec: Codec = postcard): Uint8Array {
  const b = new Uint8Array(codec.client.encodingLength(m));
  codec.client.encode(m, b, 0);
  return b;
}

/** An audio datagram on `streamIdx` at `byteIdx` carrying `payload`, its header saying `nBytes` (by default the truth). */
export function audio(
  streamIdx: number,
  byteIdx: number,
  payload: Uint8Array,
  nBytes = payload.length,
  codec: Codec = postcard,
): Uint8Array {
  const m: ClientMessage = { type: "audio", header: { streamIdx, byteIdx: u64(byteIdx), nBytes } };
  const h = codec.client.encodingLength(m);
  const b = new Uint8Array(h + payload.length);
  codec.client.encode(m, b, 0);
  b.set(payload, h);
  return b;
}
