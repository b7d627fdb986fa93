/**
 * The firmware's configuration: the Storage file `syfala.json`, checked field by field.
 *
 * Every field is optional: a missing one takes its default silently. A field that is present but
 * invalid takes its default too, and the reason is returned so that the caller prints it
 * (`config: port 70000 is not an integer in 1..65535; using 6910`); so is a field we do not know
 * (a typo would otherwise silently give the default). Two exceptions to "field by field": a
 * stream's four format fields (sampleRate, channelCount, bufferSize, sampleType) are checked
 * together with `formatProblem` and fall back together, since they only make sense as a set; and
 * a file that is missing, not JSON or not an object gives the whole default configuration.
 *
 * ```json
 * {
 *   "wifi": { "ssid": "studio", "password": "secret" },
 *   "port": 6910,
 *   "hostname": "",
 *   "inputs": [{ "sampleRate": 16000, "channelCount": 1, "bufferSize": 256, "sampleType": "I16",
 *                "source": "tone", "toneHz": 440, "amplitude": 0.5 }],
 *   "outputs": [{ "sampleRate": 16000, "channelCount": 1, "bufferSize": 256, "sampleType": "I16",
 *                 "sink": "discard" }],
 *   "maxClients": 2,
 *   "maxStreamingClients": 1,
 *   "statusEveryMs": 10000
 * }
 * ```
 */

import { type Format, formatProblem } from "../shared/format.js";
import type { StorageModule } from "./board/espruino.js";

/** The Storage file name (short: Storage silently truncates names over 28 characters). */
const CONFIG_FILE = "syfala.json";

/**
 * Where an input stream's audio (server to client) comes from:
 * - `tone`: a sine wave of `toneHz` at `amplitude` on every channel (see audio/source.ts for the
 *   frequency rounding);
 * - `pattern`: test bytes, byte k of stream s being `(k*31 + s*7) & 0xff` (k counted from IO start);
 * - `loopback`: what the client sends on output stream i, sent back at once on input stream i
 *   (BEHAVIOUR.md "Audio"). Needs `outputs[i]` with sink `loopback` and the same sample rate,
 *   channel count and sample type; a side without its matching partner falls back to its default;
 * - `silence`: the sample type's silence.
 */
export type SourceKind = "tone" | "pattern" | "loopback" | "silence";

/** Where an output stream's audio (client to server) goes: counted and dropped, or reflected (see {@link SourceKind}). */
export type SinkKind = "discard" | "loopback";

/** One input stream: its advertised format and its source. */
export interface InputConfig extends Format {
  readonly source: SourceKind;
  /** Tone frequency in Hz, above 0 and below 1 MHz; used by `tone` only. */
  readonly toneHz: number;
  /** Tone amplitude as a fraction of full scale, 0..1; used by `tone` only. */
  readonly amplitude: number;
}

/** One output stream: its advertised format and its sink. */
export interface OutputConfig extends Format {
  readonly sink: SinkKind;
}

/** The whole configuration. */
export interface FirmwareConfig {
  /** Wi-Fi station credentials (ssid at most 32 characters, password at most 64); ssid "" for none. */
  readonly wifi: { readonly ssid: string; readonly password: string };
  /** UDP port the server listens on, 1..65535. */
  readonly port: number;
  /** DHCP/mDNS hostname (letters, digits, '-', at most 32); "" for `syfala-XXXX` from the MAC address. */
  readonly hostname: string;
  /** Input streams (server to client), at most 8, each at most 16 channels. */
  readonly inputs: readonly InputConfig[];
  /** Output streams (client to server), at most 8, each at most 16 channels. */
  readonly outputs: readonly OutputConfig[];
  /** Most clients connected at once, 1..8 (RAM). */
  readonly maxClients: number;
  /** Most clients with IO running at once, 1..8 (the lower of this and maxClients applies); more get Start(Err(Failure)). */
  readonly maxStreamingClients: number;
  /** Interval of the status line on the console, in ms; 0 for none. */
  readonly statusEveryMs: number;
}

/** The configuration with the reasons of its fallbacks, as {@link loadConfig} returns it. */
export interface LoadedConfig {
  readonly config: FirmwareConfig;
  /** One line per fallback or ignored field, ready to print. */
  readonly problems: string[];
}

/** The default stream format: 16 kHz mono I16, 256-frame packets (16 ms), light enough for an ESP32. */
const DEFAULT_FORMAT: Format = { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" };
const DEFAULT_INPUT: InputConfig = Object.assign(
  { source: "tone", toneHz: 440, amplitude: 0.5 } as const,
  DEFAULT_FORMAT,
);
const DEFAULT_OUTPUT: OutputConfig = Object.assign({ sink: "discard" } as const, DEFAULT_FORMAT);

/**
 * The defaults: no Wi-Fi network, port 6910, one 440 Hz tone input and one discarded output
 * (16 kHz mono I16, 256-frame packets), 2 clients of which 1 streams, a status line every 10 s.
 */
const DEFAULT_CONFIG: FirmwareConfig = {
  wifi: { ssid: "", password: "" },
  port: 6910,
  hostname: "",
  inputs: [DEFAULT_INPUT],
  outputs: [DEFAULT_OUTPUT],
  maxClients: 2,
  maxStreamingClients: 1,
  statusEveryMs: 10000,
};

export { CONFIG_FILE, DEFAULT_CONFIG };

/** Checks a value: "" when it is valid, else why not (e.g. "is not an integer in 1..8"). */
type Check = (v: unknown) => string;
type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(min: number, max: number): Check {
  return (v) =>
    typeof v === "number" && v >= min && v <= max && Math.floor(v) === v
      ? ""
      : "is not an integer in " + min + ".." + max;
}

function text(max: number): Check {
  return (v) =>
    typeof v === "string" && v.length <= max ? "" : "is not a string of at most " + max + " characters";
}

function oneOf(names: string[]): Check {
  return (v) => (names.indexOf(v as string) >= 0 ? "" : "is not " + names.join(" or "));
}

/** Accepts anything: the field is checked later (stream lists, formats). */
function later(): string {
  return "";
}

/** "" or 1 to 32 letters, digits and '-', not starting with '-' (no RegExp: Espruino's lacks `{n}` and `?`). */
function hostname(v: unknown): string {
  let ok = typeof v === "string" && v.length <= 32 && v.charAt(0) !== "-";
  for (let i = 0; ok && i < (v as string).length; i++) {
    const c = (v as string).charAt(i).toLowerCase();
    ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c === "-";
  }
  return ok ? "" : "is not a hostname";
}

/** A value as the problem lines quote it. */
function show(v: unknown): string {
  return typeof v === "string" ? '"' + v + '"' : String(JSON.stringify(v));
}

/**
 * A copy of `d` with the fields of `raw` that pass `checks`; every other field of `raw` is a
 * problem (invalid: the default is kept; unknown: ignored). `path` prefixes field names.
 */
function merge<T>(raw: unknown, d: T, checks: Record<string, Check>, path: string, problems: string[]): T {
  const out = Object.assign({}, d) as Obj;
  if (!isObject(raw)) {
    if (raw !== undefined)
      problems.push("config: " + path + " " + show(raw) + " is not an object; using the defaults");
    return out as T;
  }
  const known = Object.keys(checks);
  const prefix = path === "" ? "config: " : "config: " + path + ".";
  for (const k of Object.keys(raw)) {
    const v = raw[k];
    if (known.indexOf(k) < 0) {
      problems.push(prefix + k + " is not a known field; ignored");
      continue;
    }
    const why = (checks[k] as Check)(v);
    if (why === "") out[k] = v;
    else problems.push(prefix + k + " " + show(v) + " " + why + "; using " + show(out[k]));
  }
  return out as T;
}

/** A stream list: at most 8 stream objects, each merged over `d` and its format checked as a whole. */
function streams<T extends Format>(
  raw: unknown,
  key: string,
  d: T,
  checks: Record<string, Check>,
  problems: string[],
): T[] {
  if (raw !== undefined && (!Array.isArray(raw) || raw.length > 8)) {
    problems.push(
      "config: " + key + " " + show(raw) + " is not a list of at most 8 streams; using the default",
    );
  }
  if (!Array.isArray(raw) || raw.length > 8) return [Object.assign({}, d)];
  const out: T[] = [];
  for (let i = 0; i < raw.length; i++) {
    const path = key + "[" + i + "]";
    const s = merge(raw[i], d, checks, path, problems);
    const why = formatProblem(s) || (s.channelCount > 16 ? "more than 16 channels" : "");
    if (why) {
      problems.push("config: " + path + ": " + why + "; using the default format");
      Object.assign(s, DEFAULT_FORMAT);
    }
    out.push(s);
  }
  return out;
}

const FORMAT_CHECKS = { sampleRate: later, channelCount: later, bufferSize: later, sampleType: later };

/**
 * Checks a parsed configuration (anything: it comes from a file) and returns a complete, valid one
 * with the reason of every fallback (see the file comment).
 */
export function checkConfig(raw: unknown): LoadedConfig {
  const p: string[] = [];
  if (!isObject(raw)) {
    p.push("config: " + CONFIG_FILE + " is not a JSON object; using the defaults");
    raw = {};
  }
  const r = raw as Obj;
  const top: Record<string, Check> = {
    wifi: later,
    port: int(1, 65535),
    hostname: hostname,
    inputs: later,
    outputs: later,
    maxClients: int(1, 8),
    maxStreamingClients: int(1, 8),
    statusEveryMs: int(0, 86400000),
  };
  const c = merge(r, DEFAULT_CONFIG, top, "", p) as {
    -readonly [K in keyof FirmwareConfig]: FirmwareConfig[K];
  };
  c.wifi = merge(r["wifi"], DEFAULT_CONFIG.wifi, { ssid: text(32), password: text(64) }, "wifi", p);
  const inputs = streams(
    r["inputs"],
    "inputs",
    DEFAULT_INPUT,
    Object.assign(
      {
        source: oneOf(["tone", "pattern", "loopback", "silence"]),
        toneHz: (v: unknown) => (typeof v === "number" && v > 0 && v < 1e6 ? "" : "is not a frequency in Hz"),
        amplitude: (v: unknown) => (typeof v === "number" && v >= 0 && v <= 1 ? "" : "is not in 0..1"),
      },
      FORMAT_CHECKS,
    ),
    p,
  ) as { -readonly [K in keyof InputConfig]: InputConfig[K] }[];
  const outputs = streams(
    r["outputs"],
    "outputs",
    DEFAULT_OUTPUT,
    Object.assign({ sink: oneOf(["discard", "loopback"]) }, FORMAT_CHECKS),
    p,
  ) as { -readonly [K in keyof OutputConfig]: OutputConfig[K] }[];
  for (let i = 0; i < inputs.length || i < outputs.length; i++) {
    const a = inputs[i];
    const b = outputs[i];
    const inLoop = a !== undefined && a.source === "loopback";
    const outLoop = b !== undefined && b.sink === "loopback";
    if (
      inLoop &&
      outLoop &&
      a.sampleRate === b.sampleRate &&
      a.channelCount === b.channelCount &&
      a.sampleType === b.sampleType
    )
      continue;
    const why = " loopback needs a partner with loopback and the same rate, channels and sample type; using ";
    if (inLoop) {
      a.source = "tone";
      p.push("config: inputs[" + i + "].source" + why + "tone");
    }
    if (outLoop) {
      b.sink = "discard";
      p.push("config: outputs[" + i + "].sink" + why + "discard");
    }
  }
  c.inputs = inputs;
  c.outputs = outputs;
  return { config: c, problems: p };
}

/**
 * Reads `syfala.json` from Storage and checks it ({@link checkConfig}). A missing or unparseable
 * file gives the defaults, with one line saying so.
 */
export function loadConfig(storage: StorageModule): LoadedConfig {
  let raw: unknown;
  try {
    raw = storage.readJSON(CONFIG_FILE, true);
  } catch (_e) {
    raw = undefined;
  }
  if (raw !== undefined) return checkConfig(raw);
  const r = checkConfig({});
  r.problems.push("config: " + CONFIG_FILE + " is missing or not valid JSON; using the defaults");
  return r;
}
