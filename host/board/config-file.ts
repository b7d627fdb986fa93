/**
 * A board's syfala.json as the host commands handle it: read from a file or from the board,
 * changed (--wifi, --formats), checked with the firmware's own rules (shared/board-config.ts's
 * checkConfig) and written back as text the board reads the same way.
 *
 * Espruino strings are bytes: a Wi-Fi name with non-ASCII characters must reach `Wifi.connect`
 * as its UTF-8 bytes. So the board's view of a configuration has every string as UTF-8 bytes
 * (one character per byte), the file is written in ASCII (bytes above 0x7f as `\u00XX` escapes,
 * which JSON.parse on the board turns back into those bytes), and strings read from the board
 * are decoded from UTF-8 again.
 */

import { readFileSync } from "node:fs";
import { checkConfig } from "../../shared/board-config.js";

/** A configuration object (the JSON file's top level). */
export type ConfigObject = Record<string, unknown>;

/** A configuration that cannot be used: the message lists the problems. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === "string") return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (typeof v === "object" && v !== null) {
    const out: ConfigObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = mapStrings(x, f);
    return out;
  }
  return v;
}

/** The board's view: every string as its UTF-8 bytes, one character per byte. */
export function toBoardView(config: ConfigObject): ConfigObject {
  return mapStrings(config, (s) => Buffer.from(s, "utf8").toString("latin1")) as ConfigObject;
}

/** The text written to the board's Storage: JSON, ASCII only (see the file comment). */
export function configText(config: ConfigObject): string {
  return JSON.stringify(toBoardView(config)).replace(
    /[\u0080-\u00ff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Parses syfala.json text as read from a board (a binary string); undefined when it is not a
 * JSON object (the firmware then uses its defaults).
 */
export function parseBoardConfig(text: string | undefined): ConfigObject | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  return mapStrings(v, (s) =>
    /^[\0-\xff]*$/.test(s) ? Buffer.from(s, "latin1").toString("utf8") : s,
  ) as ConfigObject;
}

/** Reads a syfala.json file; throws a {@link ConfigError} when it is unreadable or not a JSON object. */
export function readConfigFile(path: string): ConfigObject {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ConfigError(`${path}: ${code === "ENOENT" ? "no such file" : String(e)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not JSON (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ConfigError(`${path}: not a JSON object`);
  return v as ConfigObject;
}

/** The firmware's complaints about a configuration (empty when it is used as written). */
export function configProblems(config: ConfigObject): string[] {
  return checkConfig(toBoardView(config)).problems.map((p) => p.replace(/^config: /, ""));
}

/** Throws a {@link ConfigError} listing the problems (`what` names the configuration) unless there are none. */
export function assertValidConfig(config: ConfigObject, what: string): void {
  const problems = configProblems(config);
  if (problems.length > 0) {
    throw new ConfigError(`${what} would not be used as written: ${problems.join("; ")}`);
  }
}

/** Wi-Fi credentials from `SSID[:PASSWORD]` (the first colon separates them). */
export function parseWifi(text: string): { ssid: string; password: string } | string {
  const colon = text.indexOf(":");
  const ssid = colon < 0 ? text : text.slice(0, colon);
  const password = colon < 0 ? "" : text.slice(colon + 1);
  if (ssid === "") return "the network name (SSID) is empty";
  if (Buffer.byteLength(ssid, "utf8") > 32) return `the network name '${ssid}' is longer than 32 bytes`;
  if (Buffer.byteLength(password, "utf8") > 64) return "the password is longer than 64 bytes";
  return { ssid, password };
}

/** `base` with `patch`'s top-level fields replacing its own. */
export function mergeConfig(base: ConfigObject, patch: ConfigObject): ConfigObject {
  return { ...base, ...patch };
}

/** A copy with the Wi-Fi password replaced by asterisks (for printing). */
export function withoutPassword(config: ConfigObject): ConfigObject {
  const wifi = config["wifi"];
  if (typeof wifi !== "object" || wifi === null || Array.isArray(wifi)) return config;
  const w = wifi as Record<string, unknown>;
  if (typeof w["password"] !== "string" || w["password"] === "") return config;
  return { ...config, wifi: { ...w, password: "********" } };
}
