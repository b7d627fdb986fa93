/**
 * What the client sends on a server's output streams: the bytes of stream byte index k, as a pure
 * function of k. Every source is addressed by byte index rather than read as a stream, so that
 * the sender can fill any message, and the loopback check can regenerate exactly what was sent at
 * any index without keeping a copy.
 *
 * - `pattern`: byte k of stream s is `(k*31 + s*7) & 0xff` (the firmware's test pattern).
 * - `tone`: a sine of exactly `hz` (no rounding of the period, unlike the firmware's table),
 *   sample n = `amplitude * sin(2 pi hz n / rate)` on every channel.
 * - `wav`: a file's samples (the format must be the stream's), then silence after its end.
 * - `silence`: the sample type's silence (0, or the mid value for unsigned types).
 */

import { encodeSample as encodeSharedSample } from "../../shared/audio/sample.js";
import { type Format, fillSilence, frameSize, type SampleType, sampleSize } from "../../shared/format.js";

/** Fills messages of one output stream. */
export interface AudioSource {
  /** A short description for reports ("pattern", "tone 440 Hz", "take.wav (1.50 s)"). */
  readonly label: string;
  /** Writes stream bytes `[streamByte, streamByte + nBytes)` into `out[offset...]`. */
  fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void;
}

/** What to send, before the stream's format is known. */
export type SourceSpec =
  | { readonly kind: "silence" }
  | { readonly kind: "pattern" }
  | { readonly kind: "tone"; readonly hz: number; readonly amplitude: number }
  | { readonly kind: "wav"; readonly path: string; readonly data: Uint8Array; readonly format: WavLike };

/** The part of a WAV file's format that must match the stream it is played on. */
export interface WavLike {
  readonly sampleRate: number;
  readonly channelCount: number;
  readonly sampleType: SampleType;
}

/** Byte k of the test pattern of stream s: `(k*31 + s*7) & 0xff`. */
export function patternByte(k: number, streamIdx: number): number {
  return (k * 31 + streamIdx * 7) & 0xff;
}

/** The test pattern of stream `streamIdx`. */
export function patternSource(streamIdx: number): AudioSource {
  return {
    label: "pattern",
    fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void {
      // (k*31) & 0xff only depends on k mod 256: keep the product small and exact.
      let k = streamByte % 256;
      const add = (streamIdx * 7) & 0xff;
      for (let i = 0; i < nBytes; i++) {
        out[offset + i] = (k * 31 + add) & 0xff;
        k = k === 255 ? 0 : k + 1;
      }
    },
  };
}

/** Silence of `format`'s sample type. */
export function silenceSource(format: Pick<Format, "sampleType">): AudioSource {
  return {
    label: "silence",
    fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void {
      fillSilence(out, offset, nBytes, format.sampleType, streamByte);
    },
  };
}

/**
 * Writes `x` (-1..1, full scale; clamped) as one little-endian sample of type `t` at `offset`,
 * with the firmware's encoding (shared/audio/sample.ts): a host source never goes beyond full
 * scale, whatever it computes.
 */
export function encodeSample(view: DataView, offset: number, t: SampleType, x: number): void {
  encodeSharedSample(view, offset, t, Math.max(-1, Math.min(1, x)));
}

/**
 * A sine of `hz` at `amplitude` (0..1 of full scale) on every channel of `format`. Frames are
 * computed from their index (sample n at time n / rate), so the phase never drifts.
 */
export function toneSource(format: Format, hz: number, amplitude: number): AudioSource {
  const fb = frameSize(format);
  const ss = sampleSize(format.sampleType);
  const frame = new Uint8Array(fb);
  const view = new DataView(frame.buffer);
  const step = (2 * Math.PI * hz) / format.sampleRate;
  return {
    label: `tone ${hz} Hz`,
    fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void {
      let f = Math.floor(streamByte / fb);
      let at = streamByte - f * fb;
      let i = 0;
      while (i < nBytes) {
        // step * f stays accurate to ~1e-9 rad for days of audio: no phase reduction needed.
        const x = amplitude * Math.sin(step * f);
        for (let c = 0; c < format.channelCount; c++) encodeSample(view, c * ss, format.sampleType, x);
        const k = Math.min(fb - at, nBytes - i);
        out.set(frame.subarray(at, at + k), offset + i);
        i += k;
        at = 0;
        f++;
      }
    },
  };
}

/** A WAV file's samples (`data`, already in the stream's format), then silence. */
export function wavSource(label: string, data: Uint8Array, sampleType: SampleType): AudioSource {
  return {
    label,
    fill(out: Uint8Array, offset: number, nBytes: number, streamByte: number): void {
      const have = Math.max(0, Math.min(nBytes, data.length - streamByte));
      if (have > 0) out.set(data.subarray(streamByte, streamByte + have), offset);
      if (have < nBytes) fillSilence(out, offset + have, nBytes - have, sampleType, streamByte + have);
    },
  };
}

/** Same rate, channel count and sample type (the buffer size may differ). */
export function sameSignal(a: WavLike, b: WavLike): boolean {
  return a.sampleRate === b.sampleRate && a.channelCount === b.channelCount && a.sampleType === b.sampleType;
}

/**
 * Why `spec` cannot be played on an output stream of `format` ("the file is I16 44100 Hz x2"),
 * or undefined when it can. Only a
 * WAV file constrains the format (its rate, channel count and sample type must be the stream's):
 * the other sources are generated in any format.
 */
export function sourceProblem(spec: SourceSpec, format: Format): string | undefined {
  if (spec.kind !== "wav" || sameSignal(spec.format, format)) return undefined;
  const f = spec.format;
  return `the file is ${f.sampleType} ${f.sampleRate} Hz x${f.channelCount}`;
}

/** The source of output stream `streamIdx` of `format` for `spec` (check {@link sourceProblem} first). */
export function createSource(spec: SourceSpec, streamIdx: number, format: Format): AudioSource {
  switch (spec.kind) {
    case "silence":
      return silenceSource(format);
    case "pattern":
      return patternSource(streamIdx);
    case "tone":
      return toneSource(format, spec.hz, spec.amplitude);
    case "wav": {
      const seconds = spec.data.length / (frameSize(format) * format.sampleRate);
      return wavSource(`${spec.path} (${seconds.toFixed(2)} s)`, spec.data, format.sampleType);
    }
  }
}
