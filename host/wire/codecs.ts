/**
 * The codecs as the host uses them: postcard from shared/, and msgpack whose decoder is built on
 * @msgpack/msgpack (accepting every form a serde decoder accepts) while its encoder is the
 * shared one (rmp-serde's exact bytes).
 */
import type { Codec, CodecName } from "../../shared/wire/codec.js";
import { postcard } from "../../shared/wire/postcard.js";
import { msgpackHost } from "./msgpack-host.js";

/** Both codecs, by name. */
export const hostCodecs: { readonly postcard: Codec; readonly msgpack: Codec } = {
  postcard,
  msgpack: msgpackHost,
};

/** The host codec called `name`. */
export function hostCodec(name: CodecName): Codec {
  return hostCodecs[name];
}
