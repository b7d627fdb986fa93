/**
 * What the engines report to the application (`pollEvent()`), as discriminated unions on
 * `type`. Peers are named by their key, `"address:port"`.
 *
 * Order: events come out in the order they happened. When IO is running as a connection ends,
 * `ioStopped` comes first, then `disconnected` or `timedOut`, so that tearing down IO has one
 * place in the application.
 */

import type { StreamFormats } from "../format.js";
import type { IOState } from "../message.js";
import type { U64 } from "../u64.js";
import type { CodecName } from "../wire/codec.js";
import type { PeerStats } from "./peer-stats.js";

/**
 * A valid audio message from a streaming peer. To spare an allocation per packet, each engine
 * reuses ONE object for this event: its fields, `byteIdx` and `payload` (a view into the
 * received datagram, not a copy) are valid only until the next call to `receive`. Copy what you
 * keep. It has also been handed to the stream's receiver (and so to the sink, if any) by then.
 * Every message of a streaming peer on one of its streams with a correct n_bytes comes out,
 * whatever the receiver made of it (old and gap messages included: see `status`).
 */
export interface AudioEvent {
  readonly type: "audio";
  /** The sender's key. */
  peer: string;
  /** Server engine: one of its output streams; client engine: one of the server's input streams. */
  streamIdx: number;
  /** Stream byte index of `payload[0]` (u64). */
  byteIdx: U64;
  /** The payload: a subarray of the datagram passed to `receive`. */
  payload: Uint8Array;
  /**
   * What the stream's receiver did with it: RECEIVE_ACCEPTED, RECEIVE_GAP, RECEIVE_OLD,
   * RECEIVE_RESYNC, RECEIVE_INVALID or RECEIVE_SUSPECT (shared/audio/receiver.ts); the built-in
   * IndexCheck (receivers.ts) returns the first four only.
   */
  status: number;
}

/** Why a connection ended without a timeout: `peer` = it sent Disconnect; `us` = disconnect() or close(). */
export type DisconnectedBy = "peer" | "us";

/** The events both engines emit with the same shape (endpoint.ts emits them). */
export type EndpointEvent =
  /** The connection ended (Disconnect received, or ours sent); `stats`: its final counters. */
  | {
      readonly type: "disconnected";
      readonly peer: string;
      readonly by: DisconnectedBy;
      readonly stats: PeerStats;
    }
  /**
   * No valid message from the peer for `timeoutMs` (600 ms): dropped, IO stopped, buffers freed
   * (a client engine also sends Discovery to it from now on).
   */
  | { readonly type: "timedOut"; readonly peer: string; readonly stats: PeerStats }
  | AudioEvent;

/** Events of a {@link ServerEngine} (server.ts). */
export type ServerEvent =
  /** A client accepted our offer (ConnectionResult(Ok)): it is connected. `codec`: the one it speaks. */
  | { readonly type: "connected"; readonly peer: string; readonly codec: CodecName }
  /** A client answered our offer with Failure (it may accept later) or Refusal (no offer to it for 10 s). */
  | { readonly type: "declined"; readonly peer: string; readonly result: "failure" | "refusal" }
  /** IO started for the client (after `onStartIO` said ok, right before Start(Ok) is queued). */
  | { readonly type: "ioStarted"; readonly peer: string }
  /** IO stopped for the client (a Stop request, or the connection ended). */
  | { readonly type: "ioStopped"; readonly peer: string }
  | EndpointEvent;

/** Why an IO request of the client engine failed. */
export type IoFailureReason =
  /** The server answered Refusal: it never will; not retried. */
  | "refusal"
  /** The server answered Failure on every attempt of the backoff schedule. */
  | "failureExhausted"
  /** No answer to `maxRequestSends` (10) sends, `retransmitMs` (100 ms) apart. */
  | "noAnswer";

/** Events of a {@link ClientEngine} (client.ts). */
export type ClientEvent =
  /** A server we are not connected to offered a connection with these formats. */
  | { readonly type: "offered"; readonly peer: string; readonly formats: StreamFormats }
  /** We accepted the offer (ConnectionResult(Ok) queued): connected. */
  | { readonly type: "connected"; readonly peer: string; readonly formats: StreamFormats }
  /** The accept policy (or our server limit) declined the offer: Failure or Refusal was sent. */
  | {
      readonly type: "refusedByPolicy";
      readonly peer: string;
      readonly result: "failure" | "refusal";
      readonly formats: StreamFormats;
    }
  /**
   * The server answered Start(Ok): audio flows both ways. `rttMs`: request-to-reply time when
   * the request was sent once in its attempt (Karn's rule), else undefined.
   */
  | { readonly type: "ioStarted"; readonly peer: string; readonly rttMs: number | undefined }
  /** IO stopped: the server answered Stop(Ok) (`rttMs` as for ioStarted), or the connection ended (undefined). */
  | { readonly type: "ioStopped"; readonly peer: string; readonly rttMs: number | undefined }
  /** An IO request failed; the IO state is what it was before the request. */
  | {
      readonly type: "ioFailed";
      readonly peer: string;
      readonly state: IOState;
      readonly reason: IoFailureReason;
    }
  | EndpointEvent;
