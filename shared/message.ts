/**
 * The message model: what clients and servers say to each other.
 *
 * The reference (syfala_proto) nests its messages (`ClientMessage::Connected(
 * ConnectedClientMessage::Control(ClientControl::Heartbeat))`); the wire (syfala_network) flattens
 * them into one tag per leaf. We keep one flat discriminated union per direction, one variant per
 * leaf, each documented with its place in the reference's nesting; the codecs and the canonical
 * JSON map between this model and both wire forms. Retry-able failure and permanent refusal are
 * data ({@link Outcome}), not exceptions.
 */

import type { StreamFormats } from "./format.js";
import type { U64 } from "./u64.js";

/**
 * `Result<(), Error>` of the reference: `ok`, `failure` (cannot now; the peer may retry after a
 * backoff) or `refusal` (never; the peer must not retry).
 */
export type Outcome = "ok" | "failure" | "refusal";

/** The IO state a client asks for: start or stop audio on all streams at once. */
export type IOState = "start" | "stop";

/**
 * Header of an audio message. The payload (`nBytes` raw interleaved little-endian PCM bytes)
 * follows the encoded header in the same datagram; codecs never copy it.
 */
export interface AudioHeader {
  /** Index of the stream: a server output stream when a client sends, an input stream when a server sends. */
  streamIdx: number;
  /** Position of the first payload byte in the stream's byte stream since IO start (a full u64). */
  byteIdx: U64;
  /** Payload length in bytes, a u32; any value, not necessarily whole samples or frames. */
  nBytes: number;
}

/** Client to server. */
export type ClientMessage =
  /** `Discovery`: looking for servers (broadcast or unicast). */
  | { readonly type: "discovery" }
  /** `ConnectionResult(Result<(), ConnectionError>)`: the answer to a server's `Connect`. */
  | { readonly type: "connectionResult"; readonly result: Outcome }
  /** `Connected(Control(RequestIOStateChange(state)))`. */
  | { readonly type: "ioRequest"; readonly state: IOState }
  /** `Connected(Control(Heartbeat))`. */
  | { readonly type: "heartbeat" }
  /** `Connected(Audio(header))`: audio for one of the server's output streams. */
  | { readonly type: "audio"; readonly header: AudioHeader }
  /** `Disconnect`: the connection ends now. */
  | { readonly type: "disconnect" };

/** Server to client. */
export type ServerMessage =
  /** `Connect(StreamFormats)`: an offer, with formats fixed for the life of the connection. */
  | { readonly type: "connect"; readonly formats: StreamFormats }
  /** `Connected(Control(IOStateChangeResult(Start|Stop(result))))`. */
  | { readonly type: "ioResult"; readonly state: IOState; readonly result: Outcome }
  /** `Connected(Control(Heartbeat))`. */
  | { readonly type: "heartbeat" }
  /** `Connected(Audio(header))`: audio from one of the server's input streams. */
  | { readonly type: "audio"; readonly header: AudioHeader }
  /** `Disconnect`: the connection ends now. */
  | { readonly type: "disconnect" };

/** Which end sent a message: the direction decides the decoder (the two share tag numbers). */
export type Side = "client" | "server";

/** Ready-made client messages (the reference's `Client::HEARTBEAT` and friends). */
export const Client = {
  DISCOVERY: { type: "discovery" } as ClientMessage,
  CONNECTION_OK: { type: "connectionResult", result: "ok" } as ClientMessage,
  CONNECTION_FAILED: { type: "connectionResult", result: "failure" } as ClientMessage,
  CONNECTION_REFUSED: { type: "connectionResult", result: "refusal" } as ClientMessage,
  START_IO: { type: "ioRequest", state: "start" } as ClientMessage,
  STOP_IO: { type: "ioRequest", state: "stop" } as ClientMessage,
  HEARTBEAT: { type: "heartbeat" } as ClientMessage,
  DISCONNECT: { type: "disconnect" } as ClientMessage,
};

/** Ready-made server messages (the reference's `Server::START_IO_REFUSED` and friends). */
export const Server = {
  START_IO_OK: { type: "ioResult", state: "start", result: "ok" } as ServerMessage,
  START_IO_FAILED: { type: "ioResult", state: "start", result: "failure" } as ServerMessage,
  START_IO_REFUSED: { type: "ioResult", state: "start", result: "refusal" } as ServerMessage,
  STOP_IO_OK: { type: "ioResult", state: "stop", result: "ok" } as ServerMessage,
  STOP_IO_FAILED: { type: "ioResult", state: "stop", result: "failure" } as ServerMessage,
  STOP_IO_REFUSED: { type: "ioResult", state: "stop", result: "refusal" } as ServerMessage,
  HEARTBEAT: { type: "heartbeat" } as ServerMessage,
  DISCONNECT: { type: "disconnect" } as ServerMessage,
};

/** Either direction's message. */
export type Message = ClientMessage | ServerMessage;
