/**
 * What an engine asks the application to send, and how control messages become bytes.
 *
 * Control traffic is rare (heartbeats every 100 ms, handshakes, IO requests), so each control
 * datagram is a fresh small array; audio never goes through here (engines write it into the
 * caller's buffer, see `writeAudio`).
 */

import type { ClientMessage, ServerMessage } from "../message.js";
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

/** A client message encoded with `codec`, as a datagram to `address:port`. */
export function clientTransmit(codec: Codec, msg: ClientMessage, address: string, port: number): Transmit {
  const data = new Uint8Array(codec.client.encodingLength(msg));
  codec.client.encode(msg, data, 0);
  return { address: address, port: port, data: data };
}

/** A server message encoded with `codec`, as a datagram to `address:port`. */
export function serverTransmit(codec: Codec, msg: ServerMessage, address: string, port: number): Transmit {
  const data = new Uint8Array(codec.server.encodingLength(msg));
  codec.server.encode(msg, data, 0);
  return { address: address, port: port, data: data };
}

/** The key of a peer: `"address:port"` (e.g. "192.168.1.20:6910"), as used in events and method arguments. */
export function peerKey(address: string, port: number): string {
  return address + ":" + port;
}
