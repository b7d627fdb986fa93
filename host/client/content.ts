/**
 * The content check of one input stream whose bytes are known in advance (the firmware's test
 * pattern: byte k of stream s is `(k*31 + s*7) & 0xff`): every byte the receiver delivers is
 * compared with the expected byte at its stream index, and every byte it pads (lost or discarded
 * as reordered) is counted. With it, "every received byte at its index, every lost byte counted as
 * padding" is a check rather than a hope.
 *
 * It sits on the receiver's output (a {@link StreamSink}), not on the wire: what it sees is what a
 * recording or a sound card gets. Output byte k is stream byte k as long as the receiver did not
 * resynchronise (a gap larger than it pads); after a resync the indices no longer match and the
 * check says so through `mismatched` (the session's streams never resynchronise on a sane link).
 */

import type { StreamSink } from "../../shared/audio/receiver.js";
import { hex, type Mismatch } from "./loopback.js";
import type { AudioSource } from "./sources.js";

/** The figures of a {@link ContentCheck}, for reports. */
export interface ContentVerdict {
  readonly stream: number;
  /** What was expected ("pattern"). */
  readonly expected: string;
  /** Bytes delivered and compared with the expected bytes at their index. */
  readonly compared: number;
  /** Of those, bytes that differ. */
  readonly mismatched: number;
  /** Bytes the receiver padded with silence (lost, or discarded as reordered). */
  readonly padded: number;
  readonly firstMismatch: Mismatch | undefined;
  /** True when something was compared and every compared byte matched. */
  readonly ok: boolean;
}

/** Compares a receiver's output with `source` at every byte index; counts padding. */
export class ContentCheck implements StreamSink {
  compared = 0;
  mismatched = 0;
  padded = 0;
  firstMismatch: Mismatch | undefined;
  private scratch = new Uint8Array(2048);

  constructor(
    readonly stream: number,
    private readonly source: AudioSource,
  ) {}

  data(outByte: number, buf: Uint8Array, start: number, length: number): void {
    if (this.scratch.length < length) this.scratch = new Uint8Array(length);
    const expected = this.scratch;
    this.source.fill(expected, 0, length, outByte);
    let bad = 0;
    for (let i = 0; i < length; i++) {
      const got = buf[start + i] as number;
      if (got !== expected[i]) {
        if (this.firstMismatch === undefined) {
          this.firstMismatch = { byte: outByte + i, got, expected: expected[i] as number };
        }
        bad++;
      }
    }
    this.compared += length;
    this.mismatched += bad;
  }

  silence(_outByte: number, length: number): void {
    this.padded += length;
  }

  /** The figures so far. */
  verdict(): ContentVerdict {
    return {
      stream: this.stream,
      expected: this.source.label,
      compared: this.compared,
      mismatched: this.mismatched,
      padded: this.padded,
      firstMismatch: this.firstMismatch,
      ok: this.compared > 0 && this.mismatched === 0,
    };
  }
}

/** One line on a verdict: "in 0 = pattern: 95232 bytes compared, all equal; 1024 bytes padded". */
export function describeContent(v: ContentVerdict): string {
  const head = `in ${v.stream} = ${v.expected}`;
  const pad = `; ${v.padded} bytes padded`;
  if (v.compared === 0) return `${head}: nothing received (0 bytes compared)${pad}`;
  if (v.mismatched === 0) return `${head}: ${v.compared} bytes compared, all equal${pad}`;
  const m = v.firstMismatch;
  const first =
    m === undefined ? "" : ` (first at byte ${m.byte}: got ${hex(m.got)}, expected ${hex(m.expected)})`;
  return `${head}: ${v.mismatched} of ${v.compared} bytes compared differ${first}${pad}`;
}
