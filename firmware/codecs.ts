/**
 * The codecs the firmware understands. The default build carries postcard only (syfala_network's
 * default codec); `make firmware MSGPACK=1` swaps in codecs-msgpack.ts, which adds the msgpack
 * codec (about 7 KB minified, which the 24 KB budget cannot always spare).
 */
import type { EndpointCodecs } from "../shared/endpoint/transmit.js";
import { POSTCARD_AUDIO_HEADER_BYTES } from "../shared/wire/postcard.js";
import { postcardForServer } from "../shared/wire/postcard-server.js";

/** Codecs handed to the server engine. */
export const FIRMWARE_CODECS: EndpointCodecs = { postcard: postcardForServer };

/** The longest audio header of these codecs, in bytes: what packet sizes must leave room for. */
export const FIRMWARE_HEADER_BYTES = POSTCARD_AUDIO_HEADER_BYTES;

/**
 * True when every codec writes an audio header of exactly {@link FIRMWARE_HEADER_BYTES} (postcard's
 * fixed layout): a generated packet is then filled straight into the transmit buffer after it,
 * so no separate payload buffer is needed (59 blocks on Espruino 2v29).
 */
export const FIRMWARE_AUDIO_IN_PLACE = true;
