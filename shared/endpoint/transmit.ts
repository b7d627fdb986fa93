/**
 * What an engine asks the application to send, and the codecs it speaks.
 *
 * Control traffic is rare (heartbeats every 100 ms, handshakes, IO requests), so each control
 * datagram is a fresh small array; audio never goes through here (engines write it into the
 * caller's buffer, see `writeAudio`).
 */

import type { Codec, CodecName } from "../wire/codec.js";

/** One datagram to send: `data` to `address:port` (UDP). */
export interface Transmit {
  readonly address: string;
  readonly port: number;
  readonly data: Uint8Array;
}

/** The codecs an engine can speak: postcard always, msgpack when the build includes it. */
export interface EndpointCodecs {
  readonly postcard: Codec;
  readonly msgpack?: Codec;
}

/** The codec called `name` among `codecs`, or undefined when it is not available. */
export function codecByName(codecs: EndpointCodecs, name: CodecName): Codec | undefined {
  return name === "postcard" ? codecs.postcard : codecs.msgpack;
}

/** The key of a peer: `"address:port"` (e.g. "192.168.1.20:6910"), as used in events and method arguments. */
export function peerKey(address: string, port: number): string {
  return address + ":" + port;
}
