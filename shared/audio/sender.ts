/**
 * The send side of ONE audio stream: how many payload bytes go in each message, and the byte
 * index (`byte_idx`, a u64 starting at 0 at IO start) of each message.
 *
 * Sans-IO and allocation-free per message: the caller encodes the header and payload itself and
 * passes in the U64 to stamp. Pacing (how many bytes are due) is the {@link Pacer}'s job
 * (pacer.ts); a sender sends one message of `payloadBytes` whenever at least that much is due.
 *
 * Espruino-safe: no default parameters, no Number statics.
 */

import { type Format, frameSize } from "../format.js";
import { type U64, u64AddInPlace } from "../u64.js";

/**
 * Largest UDP payload in bytes of any datagram we send: 1500-byte Ethernet MTU minus 20 bytes of
 * IPv4 header and 8 of UDP header, so that no datagram is fragmented.
 */
export const MAX_DATAGRAM = 1472;

/**
 * Payload bytes per audio message for a stream (BEHAVIOUR.md "Packet size"), given the length in
 * bytes of the codec's audio header (17 for postcard; for msgpack pass the longest header the
 * stream can produce, since it grows with byte_idx, so that the size stays fixed):
 * - the advertised buffer (bufferSize frames) when it fits in {@link MAX_DATAGRAM} with the header;
 * - otherwise, or when bufferSize is 0 ("not given"), the largest whole number of frames that fits;
 * - when not even one frame fits, `MAX_DATAGRAM - headerLength` bytes (partial frames).
 * Throws when `headerLength` is not an integer in [0, MAX_DATAGRAM) (a programming error).
 */
export function payloadBytesPerMessage(format: Format, headerLength: number): number {
  if (!(headerLength >= 0 && headerLength < MAX_DATAGRAM && Math.floor(headerLength) === headerLength)) {
    throw new Error('"headerLength" is not an integer in [0, 1472): ' + headerLength);
  }
  const room = MAX_DATAGRAM - headerLength;
  const frame = frameSize(format);
  const fitting = Math.floor(room / frame);
  if (fitting === 0) return room;
  if (format.bufferSize > 0 && format.bufferSize <= fitting) return format.bufferSize * frame;
  return fitting * frame;
}

/**
 * Byte index bookkeeping for one stream. `next` is the byte_idx of the next message; each
 * {@link claim} stamps it into the caller's U64 (e.g. the reused header object) and advances it.
 */
export class StreamSender {
  /** Payload bytes of a full message ({@link payloadBytesPerMessage}). */
  readonly payloadBytes: number;
  /** Stream byte index of the next byte to send (u64; 0 at IO start). */
  readonly next: U64 = { hi: 0, lo: 0 };
  /** Messages claimed so far. */
  messages = 0;
  /** Payload bytes claimed so far. */
  bytesSent = 0;

  /** `headerLength`: the codec's audio header length in bytes, as for {@link payloadBytesPerMessage}. */
  constructor(format: Format, headerLength: number) {
    this.payloadBytes = payloadBytesPerMessage(format, headerLength);
  }

  /** Back to IO start: byte index and counters to 0. */
  reset(): void {
    this.next.hi = 0;
    this.next.lo = 0;
    this.messages = 0;
    this.bytesSent = 0;
  }

  /**
   * Reserves the next `nBytes` (normally `payloadBytes`; less is allowed, e.g. a last short
   * message) of the stream: writes their first byte index into `out` and advances `next`.
   */
  claim(nBytes: number, out: U64): void {
    out.hi = this.next.hi;
    out.lo = this.next.lo;
    u64AddInPlace(this.next, nBytes);
    this.messages++;
    this.bytesSent += nBytes;
  }
}
