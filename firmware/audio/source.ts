/**
 * Input stream sources (server to client audio) with no per-byte JavaScript in the steady state.
 *
 * Every source here is periodic in the stream's byte index, so each is one precomputed table
 * served by copying: the table holds one period followed by its continuation, `period + maxBytes
 * - 1` bytes (`table[i] == table[i % period]`), so that any `maxBytes` bytes starting at any
 * phase are one `subarray` and one `set`.
 * Tables are built once (per-sample work at setup only) and hold no state: the phase comes from
 * the byte index, so one source per stream serves every client.
 *
 * The periods: the test pattern 256 bytes; silence one frame (a tone of amplitude 0); a tone
 * `P = round(sampleRate / toneHz)` whole frames, at least 2 (Nyquist) and at most what fits in
 * 2048 bytes (RAM: a tone's table is this plus one payload), so that the table repeats exactly. **The tone played is therefore
 * `sampleRate / P` Hz**: 444.4 Hz for 440 Hz at 16 kHz, 440.4 Hz at 48 kHz.
 */

import { encodeSample } from "../../shared/audio/sample.js";
import { frameSize, sampleSize } from "../../shared/format.js";
import type { InputConfig } from "../config.js";

/** The one sample encoder, shared with the host's sources (re-exported for the firmware's tests). */
export { encodeSample };

/** Fills part of an audio message with a stream's bytes. */
export interface Source {
  /**
   * Writes the stream's bytes `[streamByte, streamByte + nBytes)` into `out[offset...]`, with
   * `nBytes` at most the `maxBytes` the source was made for (one copy).
   * `streamByte` is the stream's byte index since IO start as a number: exact up to 2^53, which at
   * 1 MB/s is 285 years away.
   */
  fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void;
}

/**
 * The source of input stream `streamIdx`, or undefined for `loopback`, which has none: its audio
 * is reflected from output stream `streamIdx` and its pacer is not used. `maxBytes` (> 0): the
 * payload bytes of a full message, served in one copy.
 */
export function createSource(input: InputConfig, streamIdx: number, maxBytes: number): Source | undefined {
  const s = input.source;
  if (s === "loopback") return undefined;
  const fs = frameSize(input);
  const frames =
    s === "tone"
      ? Math.max(2, Math.min(Math.round(input.sampleRate / input.toneHz), Math.floor(2048 / fs)))
      : 1;
  const period = s === "pattern" ? 256 : frames * fs;
  const t = new Uint8Array(period + maxBytes - 1);
  const view = new DataView(t.buffer);
  const size = sampleSize(input.sampleType);
  let o = 0;
  if (s === "pattern") for (; o < 256; o++) t[o] = (o * 31 + streamIdx * 7) & 255;
  else
    for (let j = 0; j < frames; j++) {
      const x = input.amplitude * Math.sin((2 * Math.PI * j) / frames);
      for (let c = 0; c < input.channelCount; c++, o += size) encodeSample(view, o, input.sampleType, x);
    }
  // The continuation, by doubling: log2 copies, no per-byte loop.
  for (let n = period; n < t.length; n *= 2) t.set(t.subarray(0, Math.min(n, t.length - n)), n);
  return {
    fill: (out, offset, nBytes, streamByte) => {
      const phase = streamByte % period;
      out.set(t.subarray(phase, phase + nBytes), offset);
    },
  };
}
