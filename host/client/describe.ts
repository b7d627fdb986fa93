/**
 * Words for what the client shows people: stream formats ("I16 16000 Hz x1, 256-frame packets"),
 * durations as the CLI accepts them ("2s", "500ms", "2"), and the round-trip figures.
 */

import type { Format, StreamFormats } from "../../shared/format.js";
import type { RttSnapshot } from "./stats.js";

/** One format in words: "I16 16000 Hz x1, 256-frame packets" ("no packet size" when bufferSize is 0). */
export function describeStreamFormat(f: Format): string {
  const packets = f.bufferSize === 0 ? "no packet size" : `${f.bufferSize}-frame packets`;
  return `${f.sampleType} ${f.sampleRate} Hz x${f.channelCount}, ${packets}`;
}

/** Every stream of a server, one line each: "in 0: I16 16000 Hz x1, 256-frame packets", then the outputs. */
export function describeFormats(formats: StreamFormats): string[] {
  const lines: string[] = [];
  formats.inputs.forEach((f, i) => {
    lines.push(`in ${i}: ${describeStreamFormat(f)}`);
  });
  formats.outputs.forEach((f, i) => {
    lines.push(`out ${i}: ${describeStreamFormat(f)}`);
  });
  if (lines.length === 0) lines.push("no streams");
  return lines;
}

/**
 * Parses a duration: "2s", "1.5s", "500ms", "2m", or a bare number of seconds ("2"). Returns
 * milliseconds, or undefined when `text` is not a duration (negative, empty, unknown unit).
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?\s*$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const ms = unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60000;
  return Number.isFinite(ms) ? ms : undefined;
}

/** A number of ms with `digits` decimals, or "-" for NaN. */
export function ms(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "-";
}

/** "3 samples: min 0.81 / mean 1.20 / max 2.00 ms", or "no samples". */
export function describeRtt(r: RttSnapshot): string {
  if (r.count === 0) return "no samples";
  return `${r.count} sample${r.count === 1 ? "" : "s"}: min ${ms(r.minMs)} / mean ${ms(r.meanMs)} / max ${ms(r.maxMs)} ms`;
}
