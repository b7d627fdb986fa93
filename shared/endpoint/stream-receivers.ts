/**
 * The full per-stream receiver for the engines' `receivers` option: {@link StreamReceiver}
 * (whole-sample padding, a sink, resync confirmation, all the counters). A module of its own so
 * that only the programs that import it carry the receiver; the firmware does not.
 */

import { StreamReceiver, type StreamSink } from "../audio/receiver.js";
import type { Format } from "../format.js";
import type { ReceiverFactory, ReceiverLike } from "./receivers.js";

/**
 * Makes the sink of one received stream at IO start: `peer` is the sender's key, `streamIdx`
 * the stream (server engine: its output streams; client engine: the server's input streams).
 * Return undefined to only count (the samples are discarded).
 */
export type AudioSinkFactory = (peer: string, streamIdx: number, format: Format) => StreamSink | undefined;

/* The sink of a stream nobody listens to. */
function ignoreData(): void {
  // output discarded
}

/** A sink that discards everything: the receiver still keeps its counters. */
export const NULL_SINK: StreamSink = { data: ignoreData, silence: ignoreData };

/** A {@link ReceiverFactory} of StreamReceivers (default options) that only count: their output is discarded. */
export const streamReceivers: ReceiverFactory = (
  _peer: string,
  _streamIdx: number,
  format: Format,
): ReceiverLike => new StreamReceiver(format, NULL_SINK);

/**
 * A {@link ReceiverFactory} of StreamReceivers (default options) writing to the sinks `sinks`
 * makes, one per stream at each IO start (a {@link NULL_SINK} where it returns undefined).
 */
export function streamReceiversTo(sinks: AudioSinkFactory): ReceiverFactory {
  return (peer: string, streamIdx: number, format: Format): ReceiverLike => {
    const sink = sinks(peer, streamIdx, format);
    return new StreamReceiver(format, sink === undefined ? NULL_SINK : sink);
  };
}
