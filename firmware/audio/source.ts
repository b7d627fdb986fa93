/**
 * Input stream sources (server to client audio) with no per-byte JavaScript in the steady state.
 *
 * Every source here is periodic in the stream's byte index, so each is one precomputed table
 * served by copying: the table holds one period followed by its continuation, `period + maxBytes
 * - 1` bytes, so that any `maxBytes` bytes starting at any phase are one `subarray` and one `set`.
 * Tables are built once (per-sample work at setup only) and hold no state: the phase comes from
 * the byte index, so one source per stream serves every client.
 *
 * **Tone frequency rounding**: so that the table repeats exactly, the tone's period is a whole
 * number of frames, `P = round(sampleRate / toneHz)`, at least 2 (Nyquist) and at most what fits
 * in 2048 bytes (RAM). The tone played is therefore `sampleRate / P` Hz
 * ({@link toneFrequency}): 444.4 Hz for 440 Hz at 16 kHz, 440.4 Hz at 48 kHz.
 */

import {
  type Format,
  fillSilence,
  frameSize,
  type SampleType,
  sampleSize,
  sampleTypeIndex,
} from "../../shared/format.js";
import type { InputConfig } from "../config.js";

/** Fills part of an audio message with a stream's bytes. */
export interface Source {
  /**
   * Writes the stream's bytes `[streamByte, streamByte + nBytes)` into `out[offset...]`.
   * `streamByte` is the stream's byte index since IO start as a number: exact up to 2^53, which at
   * 1 MB/s is 285 years away.
   */
  fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void;
}

/** Longest tone period in bytes (RAM: a tone's table is this plus one payload). */
const MAX_TONE_PERIOD_BYTES = 2048;

/** 2^32, as a literal (Espruino's Math.pow is inexact for large exponents). */
const TWO_POW_32 = 4294967296;

/** Full scale of a signed integer sample by size in bytes (1..4): 2^(bits-1) - 1. */
const FULL_SCALE = [0, 127, 32767, 8388607, 2147483647];

/** A source copying from a periodic table (see the file comment). */
class TableSource implements Source {
  /** The table: `table[i] == table[i % period]`. */
  readonly table: Uint8Array;
  /** Period in bytes. */
  readonly period: number;

  constructor(table: Uint8Array, period: number) {
    this.table = table;
    this.period = period;
  }

  /** One copy for a request of up to `table.length - period + 1` bytes; longer ones in pieces. */
  fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void {
    const t = this.table;
    const p = this.period;
    let phase = streamByte % p;
    while (nBytes > 0) {
      const n = Math.min(nBytes, t.length - p + 1);
      out.set(t.subarray(phase, phase + n), offset);
      offset += n;
      nBytes -= n;
      phase = (phase + n) % p;
    }
  }
}

/**
 * A table of `period + maxBytes - 1` bytes whose first period `write` fills; the rest is then
 * copied from it by doubling (`log2` calls to `set`, no per-byte loop).
 */
function periodic(period: number, maxBytes: number, write: (t: Uint8Array) => void): TableSource {
  const t = new Uint8Array(period + maxBytes - 1);
  write(t);
  for (let n = period; n < t.length; n *= 2) t.set(t.subarray(0, Math.min(n, t.length - n)), n);
  return new TableSource(t, period);
}

/** The tone's period in whole frames (see the file comment). */
function tonePeriodFrames(format: Format, toneHz: number): number {
  const max = Math.max(2, Math.floor(MAX_TONE_PERIOD_BYTES / frameSize(format)));
  return Math.min(Math.max(Math.round(format.sampleRate / toneHz), 2), max);
}

/** The frequency actually played for a requested `toneHz`, in Hz: sampleRate / period. */
export function toneFrequency(format: Format, toneHz: number): number {
  return format.sampleRate / tonePeriodFrames(format, toneHz);
}

/**
 * Writes `x` (-1..1, full scale) as one little-endian sample of type `t` at `view[offset]`:
 * floats as they are; signed integers as `round(x * (2^(bits-1) - 1))`; 64-bit integers with 32
 * bits of that precision scaled up (`round(x * (2^31 - 1) * 2^32)`, exact in a double); unsigned
 * integers as the signed value plus the mid value, i.e. with the top bit flipped (offset binary).
 */
export function encodeSample(view: DataView, offset: number, t: SampleType, x: number): void {
  const idx = sampleTypeIndex(t);
  const size = sampleSize(t);
  if (idx === 10) view.setFloat32(offset, x, true);
  else if (idx === 11) view.setFloat64(offset, x, true);
  else if (size === 8) {
    const v = Math.round(x * 2147483647 * TWO_POW_32);
    const hi = Math.floor(v / TWO_POW_32);
    view.setUint32(offset, v - hi * TWO_POW_32, true);
    view.setInt32(offset + 4, hi, true);
  } else {
    const v = Math.round(x * (FULL_SCALE[size] as number));
    if (size === 1) view.setInt8(offset, v);
    else if (size === 2) view.setInt16(offset, v, true);
    else if (size === 4) view.setInt32(offset, v, true);
    else {
      view.setUint16(offset, v & 0xffff, true);
      view.setInt8(offset + 2, v >> 16);
    }
  }
  if (idx <= 4) view.setUint8(offset + size - 1, view.getUint8(offset + size - 1) ^ 0x80);
}

/**
 * A sine tone of `input.toneHz` (rounded, see the file comment) at `input.amplitude` of full
 * scale, the same on every channel: sample j of the period is `amplitude * sin(2*pi*j/P)`.
 */
function toneSource(input: InputConfig, maxBytes: number): TableSource {
  const frames = tonePeriodFrames(input, input.toneHz);
  const size = sampleSize(input.sampleType);
  return periodic(frames * frameSize(input), maxBytes, (t) => {
    const view = new DataView(t.buffer);
    let o = 0;
    for (let j = 0; j < frames; j++) {
      const x = input.amplitude * Math.sin((2 * Math.PI * j) / frames);
      for (let c = 0; c < input.channelCount; c++, o += size) encodeSample(view, o, input.sampleType, x);
    }
  });
}

/** The test pattern of stream `streamIdx`: byte k is `(k*31 + streamIdx*7) & 0xff`, period 256. */
function patternSource(streamIdx: number, maxBytes: number): TableSource {
  return periodic(256, maxBytes, (t) => {
    for (let k = 0; k < 256; k++) t[k] = (k * 31 + streamIdx * 7) & 0xff;
  });
}

/** Silence of the sample type (0, or the unsigned mid value), one sample as the period. */
function silenceSource(format: Format, maxBytes: number): TableSource {
  const size = sampleSize(format.sampleType);
  return periodic(size, maxBytes, (t) => fillSilence(t, 0, size, format.sampleType, 0));
}

/**
 * The source of input stream `streamIdx`, or undefined for `loopback`, which has none: its audio
 * is reflected from output stream `streamIdx` (see sink.ts) and its pacer is not used.
 * `maxBytes` (> 0): the payload bytes of a full message, served in one copy.
 */
export function createSource(input: InputConfig, streamIdx: number, maxBytes: number): Source | undefined {
  const s = input.source;
  return s === "tone"
    ? toneSource(input, maxBytes)
    : s === "pattern"
      ? patternSource(streamIdx, maxBytes)
      : s === "silence"
        ? silenceSource(input, maxBytes)
        : undefined;
}
