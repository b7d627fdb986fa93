/**
 * The codecs of a firmware built with msgpack (`make firmware MSGPACK=1`): postcard and msgpack;
 * each client is answered in the codec it speaks. Replaces codecs.ts at build time.
 */
import type { EndpointCodecs } from "../shared/endpoint/transmit.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";

/** Codecs handed to the server engine. */
export const FIRMWARE_CODECS: EndpointCodecs = { postcard: postcard, msgpack: msgpack };

/**
 * The longest audio header of these codecs, in bytes: msgpack's, with every integer in its
 * widest form (fixmap, "Connected", fixmap, "Audio", fixarray, u32, fixarray, u64, u32) = 39.
 */
export const FIRMWARE_HEADER_BYTES = 39;

/** msgpack's audio header has no fixed length: generated packets go through a payload buffer. */
export const FIRMWARE_AUDIO_IN_PLACE = false;
