/**
 * What the board commands (flash, configure, monitor) share: the --port/--baud/--wifi options,
 * connecting with a one-line error, the terminal they draw on, and turning the board library's
 * errors into a one-line failure (exit 1) while bad arguments stay UsageErrors (exit 2).
 */

import {
  assertValidConfig,
  ConfigError,
  type ConfigObject,
  parseWifi,
  readConfigFile,
} from "../board/config-file.js";
import { BoardConsole, BoardError } from "../board/console.js";
import { type Link, LinkError, openLink } from "../board/link.js";
import { type PortSpec, parsePortSpec } from "../board/port.js";
import { UploadError } from "../board/upload.js";
import { EXIT, type Io, UsageError } from "./usage.js";

/** The process's terminal streams, injectable for tests (raw mode, progress bars). */
export interface Terminal {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(on: boolean): unknown };
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
}

export const processTerminal: Terminal = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

/** The options every board command takes. */
export const PORT_OPTIONS = {
  port: { type: "string", short: "p" },
  baud: { type: "string" },
} as const;

/** The help text of {@link PORT_OPTIONS}. */
export const PORT_HELP = `  --port PORT      the board's console: a serial device (/dev/ttyUSB0, COM3) or
                   tcp://HOST[:PORT] (its telnet console, port 23 by default; for an emulated
                   board the console port 'syfala emulate' prints)
  --baud N         serial speed (default 115200, Espruino on ESP32)`;

/** --port, required. */
export function portOption(value: string | undefined): PortSpec {
  if (value === undefined) throw new UsageError("--port is required (a serial device or tcp://HOST[:PORT])");
  const spec = parsePortSpec(value);
  if (typeof spec === "string") throw new UsageError(`--port ${spec}`);
  return spec;
}

/** --baud, default 115200. */
export function baudOption(value: string | undefined): number {
  if (value === undefined) return 115200;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 300 || n > 4000000) {
    throw new UsageError(`--baud must be an integer in 300..4000000 (got '${value}')`);
  }
  return n;
}

/** Where `--wifi SSID` (no colon) takes its password from, so it need not be on the command line. */
export const WIFI_PASSWORD_ENV = "SYFALA_WIFI_PASSWORD";

/**
 * --wifi SSID[:PASSWORD], optional. Without a colon the password comes from the environment
 * variable SYFALA_WIFI_PASSWORD when it is set (shell history and `ps` show a command line; the
 * environment they do not), else the network is open; `SSID:` is an open network whatever the
 * environment says.
 */
export function wifiOption(
  value: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { ssid: string; password: string } | undefined {
  if (value === undefined) return undefined;
  const fromEnv = env[WIFI_PASSWORD_ENV];
  const text = !value.includes(":") && fromEnv !== undefined ? `${value}:${fromEnv}` : value;
  const w = parseWifi(text);
  if (typeof w === "string") throw new UsageError(`--wifi: ${w}`);
  return w;
}

/** Rejects positional arguments. */
export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
}

/** Opens the link and a console on it, at an empty prompt. */
export async function connect(
  spec: PortSpec,
  baudRate: number,
): Promise<{ link: Link; console: BoardConsole }> {
  const link = await openLink(spec, { baudRate });
  const console = new BoardConsole(link);
  try {
    await console.sync();
  } catch (e) {
    await link.close();
    throw e;
  }
  return { link, console };
}

/**
 * Runs a board command's body: the board library's errors become one line
 * `syfala COMMAND: message` and exit 1; anything else (UsageError included) goes on.
 */
export async function reportFailures(command: string, io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (
      e instanceof LinkError ||
      e instanceof BoardError ||
      e instanceof UploadError ||
      e instanceof ConfigError
    ) {
      io.err(`syfala ${command}: ${e.message}`);
      return EXIT.FAILED;
    }
    throw e;
  }
}

/**
 * --config FILE: read and checked with the firmware's rules (`extra` fields merged in first,
 * e.g. --wifi); a file that is unreadable, not a JSON object or not used as written by the
 * firmware is a UsageError naming the problems.
 */
export function configFileOption(path: string, extra: ConfigObject = {}): ConfigObject {
  try {
    const config = readConfigFile(path);
    assertValidConfig({ ...config, ...extra }, `--config ${path}`);
    return config;
  } catch (e) {
    if (e instanceof ConfigError)
      throw new UsageError(e.message.startsWith("--config") ? e.message : `--config ${e.message}`);
    throw e;
  }
}
