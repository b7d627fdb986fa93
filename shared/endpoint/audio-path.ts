/**
 * The audio half of both engines, in one place: opening and closing the per-stream receivers of
 * a peer at IO start and stop, checking an incoming audio message before a receiver sees it, and
 * writing an outgoing audio datagram (header in the peer's codec, then the payload) into the
 * caller's buffer.
 *
 * Per audio message nothing is allocated here: the receiver reads the payload in place, the
 * header is written from a preallocated message object. Receivers always run, with a sink that
 * discards output when the application gives none, so that gaps, reorders, duplicates and
 * padding are counted per peer per stream in one place (the receiver) whatever the application
 * does with the samples.
 */

import { checkAudioPayload, StreamReceiver, type StreamSink } from "../audio/receiver.js";
import type { Format } from "../format.js";
import type { AudioHeader } from "../message.js";
import type { U64 } from "../u64.js";
import type { MessageCodec } from "../wire/codec.js";
import type { Peer } from "./peer.js";
import { addReceiverCounters } from "./peer-stats.js";

/**
 * Makes the sink of one received stream at IO start: `peer` is the sender's key, `streamIdx`
 * the stream (server engine: its output streams; client engine: the server's input streams).
 * Return undefined to only count (the samples are discarded).
 */
export type AudioSinkFactory = (peer: string, streamIdx: number, format: Format) => StreamSink | undefined;

/* The sink of a stream nobody listens to: the receiver still counts. */
function ignoreData(): void {
  // output discarded
}

/** A sink that discards everything: receivers still keep their counters. */
export const NULL_SINK: StreamSink = { data: ignoreData, silence: ignoreData };

/** `acceptAudio` result: discarded before any receiver (counted in `discardedAudio`). */
export const AUDIO_DISCARDED = -1;

/** Releases `peer`'s receivers, adding their counters to its stats. */
export function closeReceivers(peer: Peer): void {
  for (;;) {
    const r = peer.receivers.pop();
    if (r === undefined) return;
    addReceiverCounters(peer.stats, r);
  }
}

/** Creates one receiver per stream `peer` sends on (position 0 = IO start), with the factory's sinks. */
export function openReceivers(peer: Peer, factory: AudioSinkFactory | undefined): void {
  closeReceivers(peer);
  for (let i = 0; i < peer.inFormats.length; i++) {
    const f = peer.inFormats[i] as Format;
    const sink = factory === undefined ? undefined : factory(peer.key, i, f);
    peer.receivers.push(new StreamReceiver(f, sink === undefined ? NULL_SINK : sink));
  }
}

/**
 * Checks an audio message from a connected `peer` (whose payload is `data[end...]`) and hands it
 * to the stream's receiver. Discarded and counted when the peer is not streaming, the stream
 * index is out of range, or n_bytes is not the payload length. Returns the receiver's status or
 * {@link AUDIO_DISCARDED}.
 */
export function acceptAudio(peer: Peer, header: AudioHeader, data: Uint8Array, end: number): number {
  const length = data.length - end;
  const r = peer.streaming ? peer.receivers[header.streamIdx] : undefined;
  if (r === undefined || !checkAudioPayload(header.nBytes, length)) {
    peer.stats.discardedAudio++;
    return AUDIO_DISCARDED;
  }
  peer.stats.audioIn++;
  return r.receiveFrom(header.byteIdx, data, end, length);
}

/**
 * Writes an audio datagram into `out[outOffset...]`: the header (`header`, a preallocated object
 * whose fields are set here; `msg` the message wrapping it) in `codec`, then `payload`. Returns
 * the datagram's length. Throws when it does not fit in `out` (a programming error).
 */
export function writeAudioDatagram<M>(
  codec: MessageCodec<M>,
  msg: M,
  header: AudioHeader,
  streamIdx: number,
  byteIdx: U64,
  payload: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): number {
  header.streamIdx = streamIdx;
  header.byteIdx = byteIdx;
  header.nBytes = payload.length;
  const headerLength = codec.encodingLength(msg);
  const total = headerLength + payload.length;
  if (!(outOffset >= 0) || outOffset + total > out.length) {
    throw new Error(
      "writeAudio: " +
        total +
        " bytes do not fit at offset " +
        outOffset +
        " of a " +
        out.length +
        "-byte buffer",
    );
  }
  codec.encode(msg, out, outOffset);
  out.set(payload, outOffset + headerLength);
  return total;
}
