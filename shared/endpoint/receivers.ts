/**
 * Per-stream receivers as the engines see them: one per stream a peer sends on, made at IO start,
 * handed every valid audio message of its stream, freed at IO stop.
 *
 * The engines do not import the full receiver (shared/audio/receiver.ts: whole-sample padding,
 * a sink, resync confirmation): the application injects it through the `receivers` option
 * (stream-receivers.ts has a ready factory), so that only the programs that want it pay for it.
 * Without one, an engine runs {@link IndexCheck}, a few lines that only count: that is what the
 * firmware does, whose loopback sends each message back as it came.
 *
 * Espruino-safe; nothing is allocated per message.
 */

import type { Format } from "../format.js";
import { TWO_POW_32, type U64, u64AddInPlace } from "../u64.js";
import type { ReceiverCounters } from "./peer-stats.js";

/**
 * What an engine needs of a stream's receiver. Its counters with {@link ReceiverCounters} names
 * (those it has) are added to the peer's {@link PeerStats}. `StreamReceiver` fits.
 */
export interface ReceiverLike extends Partial<ReceiverCounters> {
  /**
   * Takes one audio message whose payload is `buf[start .. start+length)` and whose first byte
   * is stream byte `byteIdx` (read only, valid during the call). Returns a status, one of the
   * RECEIVE_* values of shared/audio/receiver.ts, which becomes the audio event's `status`.
   */
  receiveFrom(byteIdx: U64, buf: Uint8Array, start: number, length: number): number;
}

/**
 * Makes the receiver of one stream at IO start: `peer` is the sender's key, `streamIdx` the
 * stream (server engine: its output streams; client engine: the server's input streams) and
 * `format` its format. Where the samples go (a sink) is the factory's business.
 */
export type ReceiverFactory = (peer: string, streamIdx: number, format: Format) => ReceiverLike;

/**
 * The engines' receiver when none is injected: it keeps the next expected byte index of the
 * stream and counts, nothing more (no sink, no padding, no copy).
 *
 * - `byte_idx == expected`: accepted (status 0, RECEIVE_ACCEPTED).
 * - `byte_idx < expected`: reordered or duplicated; counted in `oldMessages`, the index stays
 *   (status 2, RECEIVE_OLD).
 * - `byte_idx > expected` by less than 2^32 bytes: a gap; counted in `gapMessages` and its size
 *   added to `bytesLost` (status 1, RECEIVE_GAP). This is an approximation of the full
 *   receiver's figure: it counts the bytes skipped, not the whole samples padded with silence
 *   (which also cover the partial samples at both edges of the gap).
 * - a jump of 2^32 bytes or more (a buggy or forged byte_idx): counted in `resyncs`, no bytes
 *   lost (status 3, RECEIVE_RESYNC). Unlike the full receiver it does not wait for a second
 *   message to confirm the jump.
 *
 * Every message that is not old moves the expected index to its end and adds its length to
 * `bytesReceived`.
 */
export class IndexCheck implements ReceiverLike {
  /** The next expected stream byte index (u64). */
  readonly expected: U64 = { hi: 0, lo: 0 };
  // (the in-order path's counter next to `expected`: Espruino walks an object's properties in order)
  bytesReceived = 0;
  gapMessages = 0;
  oldMessages = 0;
  resyncs = 0;
  bytesLost = 0;

  /** See the class comment: RECEIVE_ACCEPTED, RECEIVE_GAP, RECEIVE_OLD or RECEIVE_RESYNC. */
  receiveFrom(byteIdx: U64, _buf: Uint8Array, _start: number, length: number): number {
    const e = this.expected;
    // the common case first, in few statements (each costs microseconds on Espruino)
    if (byteIdx.lo === e.lo && byteIdx.hi === e.hi) {
      const lo = e.lo + length;
      if (lo < TWO_POW_32) e.lo = lo;
      else u64AddInPlace(e, length);
      this.bytesReceived += length;
      return 0;
    }
    // exact below 2^53; beyond, the sign is still right (the high words dominate)
    const gap = (byteIdx.hi - e.hi) * TWO_POW_32 + (byteIdx.lo - e.lo);
    if (gap < 0) {
      this.oldMessages++;
      return 2;
    }
    e.hi = byteIdx.hi;
    e.lo = byteIdx.lo;
    u64AddInPlace(e, length);
    this.bytesReceived += length;
    if (gap === 0) return 0;
    if (gap >= TWO_POW_32) {
      this.resyncs++;
      return 3;
    }
    this.gapMessages++;
    this.bytesLost += gap;
    return 1;
  }
}
