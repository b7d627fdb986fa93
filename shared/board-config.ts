/**
 * A board's configuration: the Storage file `syfala.json`, its schema and its check, field by
 * field against one table ({@link SPEC}). The firmware checks it at boot (firmware/config.ts
 * reads it from Storage); the host's tools check a file before they write it to a board. It
 * lives in shared/ because both sides need the same rules.
 *
 * Every field is optional: a missing one takes its default silently. A field that is present but
 * invalid takes its default, and one short line says so (`config: port: bad, using 6910`); an
 * unknown field (a typo would otherwise silently give the default) is ignored with
 * `config: prot: unknown, ignored`. A file that is missing, not JSON or not an object gives the
 * whole default configuration, with one line saying so. The caller prints the lines.
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

import { type Format, isSampleType } from "./format.js";

/** The Storage file name (short: Storage silently truncates names over 28 characters). */
export const CONFIG_FILE = "syfala.json";

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
  /** Tone frequency in Hz, 1..1,000,000; used by `tone` only. */
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
  /**
   * Input streams (server to client), at most 8. Each: sampleRate 1..1,000,000 Hz, channelCount
   * 1..16 (RAM), bufferSize a u32 in frames (0 = not given), sampleType one of the 12.
   */
  readonly inputs: readonly InputConfig[];
  /** Output streams (client to server), at most 8, with the same limits as the inputs. */
  readonly outputs: readonly OutputConfig[];
  /** Most clients connected at once, 1..8 (RAM). */
  readonly maxClients: number;
  /** Most clients with IO running at once, 1..8 (the lower of this and maxClients applies); more get Start(Err(Failure)). */
  readonly maxStreamingClients: number;
  /** Interval of the status line on the console, in ms, at most a day; 0 for none. */
  readonly statusEveryMs: number;
}

/** The configuration with the reasons of its fallbacks, as {@link loadConfig} returns it. */
export interface LoadedConfig {
  readonly config: FirmwareConfig;
  /** One line per fallback or ignored field, ready to print. */
  readonly problems: string[];
}

/** True when a field's value is valid. */
type Check = (v: unknown) => boolean;

/**
 * What a config object may hold, field by field: `[check, default]` for a value, a nested
 * object's spec, or `[spec]` for a list of at most 8 such objects (default: one default object).
 */
interface Spec {
  readonly [field: string]: readonly [Check, unknown] | readonly [Spec] | Spec;
}

type Obj = Record<string, unknown>;

/**
 * Checks a parsed configuration (anything: it comes from a file) and returns a complete, valid one
 * with the reason of every fallback (see the file comment).
 */
export function checkConfig(raw: unknown): LoadedConfig {
  // Boot-only: the tables and helpers below exist during this call only (garbage after boot).
  function isObject(v: unknown): boolean {
    return typeof v === "object" && v !== null && !Array.isArray(v);
  }

  /** A number in min..max: an integer unless `real`. */
  function num(min: number, max: number, real?: boolean): Check {
    return (v) => typeof v === "number" && v >= min && v <= max && (real || Math.floor(v) === v);
  }

  /**
   * A string of at most `max` characters; "" or a match of `re` when given. The regexps keep to what
   * Espruino's engine has: no `{n}` or `?`, and '-' first in a class (last, it breaks the class).
   */
  function str(max: number, re?: RegExp): Check {
    return (v) => typeof v === "string" && v.length <= max && (!re || v === "" || re.test(v));
  }

  function oneOf(names: string[]): Check {
    return (v) => names.indexOf(v as string) >= 0;
  }

  /** The four format fields, shared by inputs and outputs: 16 kHz mono I16, 256-frame packets by default. */
  const FORMAT_SPEC: Spec = {
    sampleRate: [num(1, 1e6, true), 16000],
    channelCount: [num(1, 16), 1],
    bufferSize: [num(0, 4294967295), 256],
    sampleType: [isSampleType, "I16"],
  };

  /**
   * The whole file, with the defaults: no Wi-Fi network, port 6910, one 440 Hz tone input and one
   * discarded output (16 kHz mono I16, 256-frame packets: light enough for an ESP32), 2 clients of
   * which 1 streams, a status line every 10 s.
   */
  const SPEC: Spec = {
    wifi: { ssid: [str(32), ""], password: [str(64), ""] },
    port: [num(1, 65535), 6910],
    /** Letters, digits and '-', not first. */
    hostname: [str(32, /^[a-zA-Z0-9][-a-zA-Z0-9]*$/), ""],
    inputs: [
      Object.assign(
        {
          source: [oneOf(["tone", "pattern", "loopback", "silence"]), "tone"],
          toneHz: [num(1, 1e6, true), 440],
          amplitude: [num(0, 1, true), 0.5],
        } as Spec,
        FORMAT_SPEC,
      ),
    ],
    outputs: [Object.assign({ sink: [oneOf(["discard", "loopback"]), "discard"] } as Spec, FORMAT_SPEC)],
    maxClients: [num(1, 8), 2],
    maxStreamingClients: [num(1, 8), 1],
    statusEveryMs: [num(0, 86400000), 10000],
  };

  /** Records that `path` was invalid and `what` (as JSON, or "defaults") is used instead. */
  function bad(p: string[], path: string, what: string): void {
    p.push("config: " + path + ": bad, using " + what);
  }

  /**
   * A new object with the fields of `raw` that pass `spec` and the defaults of the others, nested
   * objects and lists built the same way. Every other field of `raw` is a problem line. `path` is
   * the object's name in the lines ("" at the top, "wifi", "inputs[0]").
   */
  function merge(raw: unknown, spec: Spec, path: string, p: string[]): Obj {
    const ok = isObject(raw);
    const r: Obj = ok ? (raw as Obj) : {};
    if (raw !== undefined && !ok) bad(p, path, "defaults");
    const pre = path ? path + "." : "";
    for (const k in r) if (!(k in spec)) p.push("config: " + pre + k + ": unknown, ignored");
    const out: Obj = {};
    for (const k in spec) {
      const c = spec[k] as Spec & unknown[];
      const v = r[k];
      if (!Array.isArray(c)) {
        out[k] = merge(v, c, pre + k, p);
        continue;
      }
      // A value [check, default] (checks are false for undefined), or a list [spec].
      const leaf = c.length > 1;
      const ok = leaf ? (c[0] as Check)(v) : Array.isArray(v) && v.length <= 8;
      if (!ok && v !== undefined) bad(p, pre + k, leaf ? JSON.stringify(c[1]) : "defaults");
      if (leaf) out[k] = ok ? v : c[1];
      else {
        const list = (ok ? v : [undefined]) as unknown[];
        const o: Obj[] = [];
        for (let i = 0; i < list.length; i++)
          o.push(merge(list[i], c[0] as Spec, pre + k + "[" + i + "]", p));
        out[k] = o;
      }
    }
    return out;
  }

  /** Sample rate, channel count and sample type, which a loopback pair must share. */
  function key(f: Format): string {
    return f.sampleRate + "/" + f.channelCount + f.sampleType;
  }
  const p: string[] = [];
  if (!isObject(raw)) {
    p.push("config: " + CONFIG_FILE + " missing or bad, using defaults");
    raw = undefined;
  }
  const c = merge(raw, SPEC, "", p);
  const ins = c["inputs"] as (Format & { source: SourceKind })[];
  const outs = c["outputs"] as (Format & { sink: SinkKind })[];
  for (let i = 0; i < 8; i++) {
    const a = ins[i];
    const b = outs[i];
    const inLoop = a !== undefined && a.source === "loopback";
    const outLoop = b !== undefined && b.sink === "loopback";
    if ((inLoop || outLoop) && !(inLoop && outLoop && key(a) === key(b))) {
      if (inLoop) a.source = "tone";
      if (outLoop) b.sink = "discard";
      p.push("config: loopback " + i + ": no like pair, using tone/discard");
    }
  }
  return { config: c as unknown as FirmwareConfig, problems: p };
}
