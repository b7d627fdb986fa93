/**
 * The `--formats` syntax of `syfala configure`: a board's streams in one short argument, turned
 * into the `inputs`/`outputs` lists of its syfala.json (shared/board-config.ts), and back.
 *
 *   SPEC    := STREAM ("," STREAM)*
 *   STREAM  := ("in" | "out") "=" (FORMAT [":" ROLE] | "none")
 *   FORMAT  := TYPE "@" RATE ["x" CHANNELS] ["/" BUFFER]
 *   ROLE    := in:  "tone" ["@" HZ ["*" AMPLITUDE]] | "pattern" | "loopback" | "silence"
 *              out: "discard" | "loopback"
 *
 * TYPE is one of the 12 sample types (any case; F32/F64 stand for IEEF32/IEEF64), RATE in Hz
 * ("16000", "16k", "44.1k"), CHANNELS 1..16 (default 1), BUFFER in frames 0..4294967295 (default
 * 256; 0 = not given), ROLE defaults to tone (in) and discard (out), HZ 1..1000000 (default 440),
 * AMPLITUDE 0..1 (default 0.5). Streams keep their order: the first `in=` is input 0. A direction
 * that the spec does not name is left as it is; `in=none` means no input streams.
 *
 * Example: `in=I16@16k/256:tone@440*0.5,out=I16@16k/256:discard`
 */

import { SAMPLE_TYPES, type SampleType } from "../../shared/format.js";

/** A bad --formats spec; the message names the bad part. */
export class FormatsSpecError extends Error {
  override readonly name = "FormatsSpecError";
}

/** An input stream entry of syfala.json. */
export interface InputEntry {
  sampleType: SampleType;
  sampleRate: number;
  channelCount: number;
  bufferSize: number;
  source: "tone" | "pattern" | "loopback" | "silence";
  toneHz?: number;
  amplitude?: number;
}

/** An output stream entry of syfala.json. */
export interface OutputEntry {
  sampleType: SampleType;
  sampleRate: number;
  channelCount: number;
  bufferSize: number;
  sink: "discard" | "loopback";
}

/** What a spec sets: a list per direction it names. */
export interface FormatsChange {
  inputs?: InputEntry[];
  outputs?: OutputEntry[];
}

/** The most streams per direction (shared/board-config.ts). */
const MAX_STREAMS = 8;
const SOURCES = ["tone", "pattern", "loopback", "silence"] as const;
const SINKS = ["discard", "loopback"] as const;

/** The syntax, for --help. */
export const FORMATS_SYNTAX = `  --formats SPEC   STREAM[,STREAM...], each STREAM one of
                     in=TYPE@RATE[xCHANNELS][/BUFFER][:tone[@HZ[*AMPLITUDE]]|:pattern|:loopback|:silence]
                     out=TYPE@RATE[xCHANNELS][/BUFFER][:discard|:loopback]
                     in=none | out=none   (no streams that way)
                   TYPE: U8 U16 U24 U32 U64 I8 I16 I24 I32 I64 IEEF32 IEEF64 (F32, F64); RATE in Hz
                   (16000, 16k, 44.1k); CHANNELS 1..16 (1); BUFFER frames per packet (256, 0 = none);
                   HZ 1..1000000 (440); AMPLITUDE 0..1 (0.5). A direction not named is unchanged.
                   e.g. in=I16@16k/256:tone@440*0.5,out=I16@16k/256:discard`;

function num(text: string, what: string, item: string, min: number, max: number, integer: boolean): number {
  const m = /^(\d+(?:\.\d+)?)(k?)$/i.exec(text);
  const v = m === null ? Number.NaN : Number(m[1]) * (m[2] === "" ? 1 : 1000);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new FormatsSpecError(
      `'${item}': ${what} must be ${integer ? "an integer" : "a number"} in ${min}..${max} (got '${text}')`,
    );
  }
  return Math.round(v * 1e6) / 1e6;
}

function sampleType(text: string, item: string): SampleType {
  const t = text.toUpperCase();
  const alias = t === "F32" ? "IEEF32" : t === "F64" ? "IEEF64" : t;
  const found = SAMPLE_TYPES.find((s) => s === alias);
  if (found === undefined) {
    throw new FormatsSpecError(`'${item}': unknown sample type '${text}' (one of ${SAMPLE_TYPES.join(" ")})`);
  }
  return found;
}

/** TYPE@RATE[xCHANNELS][/BUFFER] */
function format(text: string, item: string): Omit<OutputEntry, "sink"> {
  const m = /^([A-Za-z0-9]+)@([0-9.]+k?)(?:x([0-9]+))?(?:\/([0-9]+))?$/i.exec(text);
  if (m === null) {
    if (!text.includes("@")) throw new FormatsSpecError(`'${item}': expected TYPE@RATE, e.g. I16@16000`);
    throw new FormatsSpecError(`'${item}': '${text}' is not TYPE@RATE[xCHANNELS][/BUFFER]`);
  }
  return {
    sampleType: sampleType(m[1] ?? "", item),
    sampleRate: num(m[2] ?? "", "the sample rate", item, 1, 1e6, false),
    channelCount: m[3] === undefined ? 1 : num(m[3], "the channel count", item, 1, 16, true),
    bufferSize: m[4] === undefined ? 256 : num(m[4], "the buffer size", item, 0, 4294967295, true),
  };
}

function input(body: string, role: string | undefined, item: string): InputEntry {
  const f = format(body, item);
  if (role === undefined) return { ...f, source: "tone" };
  const tone = /^tone(?:@([^*]+)(?:\*(.+))?)?$/i.exec(role);
  if (tone !== null) {
    const entry: InputEntry = { ...f, source: "tone" };
    if (tone[1] !== undefined) entry.toneHz = num(tone[1], "the tone frequency", item, 1, 1e6, false);
    if (tone[2] !== undefined) entry.amplitude = num(tone[2], "the amplitude", item, 0, 1, false);
    return entry;
  }
  const source = SOURCES.find((s) => s === role.toLowerCase());
  if (source === undefined) {
    throw new FormatsSpecError(
      `'${item}': unknown input source '${role}' (tone, pattern, loopback, silence)`,
    );
  }
  return { ...f, source };
}

function output(body: string, role: string | undefined, item: string): OutputEntry {
  const f = format(body, item);
  if (role === undefined) return { ...f, sink: "discard" };
  const sink = SINKS.find((s) => s === role.toLowerCase());
  if (sink === undefined)
    throw new FormatsSpecError(`'${item}': unknown output sink '${role}' (discard, loopback)`);
  return { ...f, sink };
}

/** Parses a --formats spec; throws a {@link FormatsSpecError} naming the bad part. */
export function parseFormatsSpec(spec: string): FormatsChange {
  const change: FormatsChange = {};
  const none = { in: false, out: false };
  if (spec.trim() === "") throw new FormatsSpecError("the spec is empty");
  for (const raw of spec.split(",")) {
    const item = raw.trim();
    if (item === "") throw new FormatsSpecError(`empty stream in '${spec}' (stray comma?)`);
    const eq = item.indexOf("=");
    const dir = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    if (eq < 0 || (dir !== "in" && dir !== "out")) {
      throw new FormatsSpecError(`'${item}': a stream starts with in= or out=`);
    }
    const value = item.slice(eq + 1).trim();
    const list = dir === "in" ? change.inputs : change.outputs;
    if (value.toLowerCase() === "none") {
      if (list !== undefined) throw new FormatsSpecError(`'${item}': ${dir}=none with other ${dir}= streams`);
      none[dir] = true;
      if (dir === "in") change.inputs = [];
      else change.outputs = [];
      continue;
    }
    if (none[dir]) throw new FormatsSpecError(`'${item}': ${dir}=none with other ${dir}= streams`);
    const colon = value.indexOf(":");
    const body = colon < 0 ? value : value.slice(0, colon);
    const role = colon < 0 ? undefined : value.slice(colon + 1);
    let n: number;
    if (dir === "in") {
      const inputs = change.inputs ?? [];
      inputs.push(input(body, role, item));
      change.inputs = inputs;
      n = inputs.length;
    } else {
      const outputs = change.outputs ?? [];
      outputs.push(output(body, role, item));
      change.outputs = outputs;
      n = outputs.length;
    }
    if (n > MAX_STREAMS) throw new FormatsSpecError(`'${item}': at most ${MAX_STREAMS} ${dir}= streams`);
  }
  return change;
}

function numberText(n: unknown): string {
  return typeof n === "number" ? String(n) : "?";
}

/** One syfala.json stream entry in the spec's syntax (fields it lacks take the firmware's defaults). */
export function formatStreamSpec(dir: "in" | "out", entry: Record<string, unknown>): string {
  const type = typeof entry["sampleType"] === "string" ? entry["sampleType"] : "I16";
  const rate = numberText(entry["sampleRate"] ?? 16000);
  const ch = numberText(entry["channelCount"] ?? 1);
  const buf = numberText(entry["bufferSize"] ?? 256);
  let role: string;
  if (dir === "in") {
    const source = typeof entry["source"] === "string" ? entry["source"] : "tone";
    role = source;
    if (source === "tone") {
      const hz = entry["toneHz"];
      const amp = entry["amplitude"];
      if (hz !== undefined || amp !== undefined) role += `@${numberText(hz ?? 440)}`;
      if (amp !== undefined) role += `*${numberText(amp)}`;
    }
  } else role = typeof entry["sink"] === "string" ? entry["sink"] : "discard";
  return `${dir}=${type}@${rate}x${ch}/${buf}:${role}`;
}

/** A configuration's streams as a spec (`in=none` / `out=none` for empty lists). */
export function formatFormatsSpec(config: { inputs?: unknown; outputs?: unknown }): string {
  const part = (dir: "in" | "out", list: unknown): string[] => {
    if (!Array.isArray(list)) return [formatStreamSpec(dir, {})];
    if (list.length === 0) return [`${dir}=none`];
    return list.map((e: unknown) =>
      formatStreamSpec(dir, typeof e === "object" && e !== null ? (e as Record<string, unknown>) : {}),
    );
  };
  return [...part("in", config.inputs), ...part("out", config.outputs)].join(",");
}
