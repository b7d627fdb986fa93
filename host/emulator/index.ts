/**
 * The Espruino emulator: runs the firmware file a board gets (build/firmware/syfala.js) on a PC,
 * as faithfully as a PC can, on a virtual LAN on loopback (see README.md in this folder for what
 * is faithful and what is approximated).
 *
 * ```ts
 * const lan = await startBoards({ count: 2, firmwarePath: "build/firmware/syfala.js", config });
 * lan.boards[0].address;      // "127.0.0.2"
 * lan.boards[0].wifi.drop();  // the access point disappears for board 1
 * await lan.stop();           // E.on('kill') handlers run, then sockets close
 * ```
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Board, type LogEntry } from "./board.js";
import type { GatePolicy } from "./gate.js";
import { MAX_BOARDS } from "./lan.js";
import { PROFILES, type Profile, type ProfileName } from "./profile.js";
import type { AccessPoint, WifiTiming } from "./wifi.js";

export type { BoardStats, LogEntry } from "./board.js";
export type { DatagramStats } from "./dgram.js";
export type { GatePolicy } from "./gate.js";
export { routeUnhandledRejections } from "./interpreter.js";
export { BROADCAST, boardAddress } from "./lan.js";
export { EMULATED_MODULES, PROFILES, type Profile, type ProfileName } from "./profile.js";
export { runScript, type ScriptOptions, type ScriptResult } from "./script.js";
export type { AccessPoint, WifiController, WifiTiming } from "./wifi.js";
export { Board };

/** The emulator's board file for the upload tool (`--board`): no lookup online. */
export const BOARD_FILE = new URL("./EMULATOR.json", import.meta.url).pathname;

/** Storage file the firmware reads its configuration from. */
export const CONFIG_FILE = "syfala.json";

export interface StartOptions {
  /** Number of boards. Defaults to 1. */
  readonly count: number;
  /** The firmware file, flashed into each board's `.bootcde` before boot. */
  readonly firmwarePath: string;
  /** Firmware text (instead of firmwarePath). */
  readonly firmware: string;
  /** The configuration written to each board's Storage as syfala.json (object or JSON text). */
  readonly config: unknown;
  /** UDP port the firmware serves on: written into the configuration's `port`. */
  readonly port: number;
  /** Console port of board 1 on 127.0.0.1; board i gets consolePort + i - 1. 0 (default): free ports. */
  readonly consolePort: number;
  /** Folder of the Storage files (board-1.json...). Undefined (default): Storage in memory. */
  readonly storageDir: string;
  /** Board profile. Defaults to "esp32". */
  readonly profile: ProfileName | Profile;
  /** The simulated access point. Defaults to the configuration's wifi, else ssid "syfala-emulator". */
  readonly accessPoint: AccessPoint;
  readonly wifiTiming: Partial<WifiTiming>;
  /** How the loader gates code (see gate.ts). Defaults to "syntax". */
  readonly gate: GatePolicy;
  /** Longest run of one chunk of code (boot code, a console line), in ms. Defaults to 10000. */
  readonly evalTimeoutMs: number;
  /** Count closure variables in process.memory() (inspector). Defaults to true. */
  readonly inspectClosures: boolean;
  /** Total blocks process.memory() reports. Defaults to the profile's (3000). */
  readonly memoryBlocks: number;
  /** More Storage files, written before boot. */
  readonly files: Readonly<Record<string, string>>;
  /** Called with every log line of every board. */
  readonly onLog: (entry: LogEntry) => void;
}

/** Running boards. */
export interface Lan {
  readonly boards: readonly Board[];
  /** Stops every board (kill handlers first), in parallel. */
  stop(): Promise<void>;
}

function configObject(config: unknown): Record<string, unknown> | undefined {
  if (config === undefined) return undefined;
  const v: unknown = typeof config === "string" ? JSON.parse(config) : config;
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error("the configuration must be a JSON object");
  return { ...(v as Record<string, unknown>) };
}

function accessPointOf(config: Record<string, unknown> | undefined): AccessPoint {
  const wifi = config?.wifi;
  if (typeof wifi === "object" && wifi !== null) {
    const w = wifi as { ssid?: unknown; password?: unknown };
    if (typeof w.ssid === "string" && w.ssid !== "") {
      return { ssid: w.ssid, password: typeof w.password === "string" ? w.password : "" };
    }
  }
  return { ssid: "syfala-emulator", password: "" };
}

/** Board indexes in use in this process (each is an address: two LANs must not share one). */
const taken = new Set<number>();

/** The lowest `count` consecutive free indexes, reserved. */
function reserve(count: number): number {
  for (let first = 1; first + count - 1 <= MAX_BOARDS; first++) {
    let free = true;
    for (let i = first; i < first + count && free; i++) free = !taken.has(i);
    if (free) {
      for (let i = first; i < first + count; i++) taken.add(i);
      return first;
    }
  }
  throw new RangeError(`no ${count} free board addresses left in 127.0.0.2..127.0.0.254`);
}

/**
 * Starts `count` boards on the virtual LAN. The first LAN of a process gets boards 1..count
 * (127.0.0.2...); a LAN started while another runs gets the next free addresses.
 */
export async function startBoards(options: Partial<StartOptions> = {}): Promise<Lan> {
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_BOARDS) {
    throw new RangeError(`count must be an integer in 1..${MAX_BOARDS} (got ${count})`);
  }
  const first = reserve(count);
  const release = (): void => {
    for (let i = first; i < first + count; i++) taken.delete(i);
  };
  const profile =
    typeof options.profile === "object" ? options.profile : PROFILES[options.profile ?? "esp32"];
  const firmware =
    options.firmware ??
    (options.firmwarePath === undefined ? undefined : readFileSync(options.firmwarePath, "utf8"));
  const config = configObject(options.config);
  const merged = options.port === undefined ? config : { ...(config ?? {}), port: options.port };
  const files: Record<string, string> = { ...(options.files ?? {}) };
  if (merged !== undefined) files[CONFIG_FILE] = JSON.stringify(merged);
  const accessPoint = options.accessPoint ?? accessPointOf(merged);
  const base = options.consolePort ?? 0;
  const boards: Board[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const index = first + i - 1;
      const board = await Board.start({
        index,
        profile,
        storagePath:
          options.storageDir === undefined ? undefined : join(options.storageDir, `board-${index}.json`),
        firmware,
        consolePort: base === 0 ? 0 : base + i - 1,
        accessPoint,
        wifiTiming: options.wifiTiming ?? {},
        gate: options.gate ?? "syntax",
        evalTimeoutMs: options.evalTimeoutMs ?? 10000,
        inspectClosures: options.inspectClosures ?? true,
        memoryBlocks: options.memoryBlocks ?? profile.memoryBlocks,
        files,
        ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
      });
      boards.push(board);
    }
  } catch (e) {
    await Promise.all(boards.map((b) => b.stop()));
    release();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    boards,
    stop: () => {
      stopping ??= Promise.all(boards.map((b) => b.stop())).then(release);
      return stopping;
    },
  };
}

/**
 * Arguments for the upload tool (`node node_modules/espruino/bin/espruino-cli.js ...`) to send
 * `file` to the emulated board whose console listens on `consolePort`, with everything that
 * could reach the Internet turned off: the board comes from the local board file, modules are
 * not looked up (MODULE_URL empty), no minifier, no compiler service, no board JSON URL; writes
 * are not throttled (SERIAL_THROTTLE_SEND=2: the console is TCP). `save` stores the code in
 * Storage (`.bootcde`, SAVE_ON_SEND=1) instead of RAM. `boardFile`: another local board file
 * (the real interpreter's, host/espruino/LINUX.json).
 */
export function espruinoToolArgs(
  consolePort: number,
  file: string,
  save = false,
  boardFile = BOARD_FILE,
): string[] {
  const config = [
    "MODULE_URL=",
    "BOARD_JSON_URL=",
    "COMPILATION=false",
    "COMPILATION_URL=",
    "MINIFICATION_LEVEL=",
    "MODULE_MINIFICATION_LEVEL=",
    "SERIAL_THROTTLE_SEND=2",
    "ENV_ON_CONNECT=false",
    `SAVE_ON_SEND=${save ? 1 : 0}`,
  ];
  return [
    "-p",
    `tcp://127.0.0.1:${consolePort}`,
    "--no-ble",
    "--board",
    boardFile,
    ...config.flatMap((c) => ["--config", c]),
    file,
  ];
}
