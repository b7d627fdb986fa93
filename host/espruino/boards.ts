/**
 * Several boards, each a real Espruino interpreter process (see interpreter.ts), running the
 * firmware file a board gets, on one machine: `syfala emulate --engine espruino` and the
 * real-interpreter tests use this.
 *
 * In one network namespace the interpreters share the host's addresses, so they are told apart
 * by their UDP port: board i serves on `port + i - 1` at 127.0.0.1 (written into its syfala.json;
 * `dgram` binds every interface, so two boards cannot share a port). The telnet console's port is
 * fixed (2323), so only board 1 can have one. A discovery broadcast to 127.255.255.255 on one
 * port therefore finds one board.
 */

import { EspruinoInterpreter, type InterpreterLine, TELNET_PORT } from "./interpreter.js";
import type { EmulatedWifi } from "./wifi-prelude.js";

/** The emulated access point boards join when the configuration names none. */
export const EMULATED_AP: EmulatedWifi = { ssid: "syfala-emulator", password: "" };

export interface InterpreterBoardsOptions {
  /** The `espruino` binary. */
  readonly bin: string;
  /** Number of boards. Defaults to 1. */
  readonly count?: number;
  /** The firmware file each board runs (e.g. build/firmware/syfala.min.js). */
  readonly firmwarePath: string;
  /** The configuration (syfala.json) of every board; its `port` is replaced by each board's. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** UDP port of board 1; board i gets port + i - 1. Defaults to the configuration's, else 6910. */
  readonly port?: number;
  /**
   * The emulated Wi-Fi (a prelude before the firmware, see wifi-prelude.ts): `true` joins the
   * configuration's network (or {@link EMULATED_AP} when it names none, which is then written into
   * the configuration), an access point object that one, `false` (the default) none: the firmware
   * then finds no Wifi module, as on the Linux build, and serves at once.
   */
  readonly wifi?: boolean | EmulatedWifi;
  /** Give board 1 the telnet console (tcp://127.0.0.1:2323). Defaults to true. */
  readonly console?: boolean;
  /** Working directory of board i: `dirOf(i)`. Defaults to a fresh temporary directory each, removed at stop. */
  readonly dirOf?: (index: number) => string;
  /** Every line of every board. */
  readonly onLine?: (board: InterpreterBoard, line: InterpreterLine) => void;
}

/** One board of {@link startInterpreterBoards}. */
export interface InterpreterBoard {
  /** 1, 2, ... */
  readonly index: number;
  /** Where it serves: 127.0.0.1 (every interface, in fact) and its own port. */
  readonly address: string;
  readonly port: number;
  /** Its console port on 127.0.0.1 (board 1 only), else undefined. */
  readonly consolePort: number | undefined;
  readonly interpreter: EspruinoInterpreter;
}

export interface InterpreterBoards {
  readonly boards: readonly InterpreterBoard[];
  /** Stops every interpreter (SIGKILL: no E.on('kill') handlers run). */
  stop(): Promise<void>;
}

function ssidOf(config: Readonly<Record<string, unknown>> | undefined): EmulatedWifi | undefined {
  const w = config?.["wifi"];
  if (typeof w !== "object" || w === null) return undefined;
  const { ssid, password } = w as { ssid?: unknown; password?: unknown };
  if (typeof ssid !== "string" || ssid === "") return undefined;
  return { ssid, password: typeof password === "string" ? password : "" };
}

/** Starts the boards one after the other; each has printed its boot line when this resolves. */
export async function startInterpreterBoards(options: InterpreterBoardsOptions): Promise<InterpreterBoards> {
  const count = options.count ?? 1;
  const base = options.config ?? {};
  const configured = typeof base["port"] === "number" ? base["port"] : 6910;
  const port = options.port ?? configured;
  if (!Number.isInteger(count) || count < 1 || port + count - 1 > 65535) {
    throw new RangeError(`cannot give ${count} boards ports from ${port} on`);
  }
  let ap: EmulatedWifi | undefined;
  let config: Record<string, unknown> = { ...base };
  if (options.wifi === true) {
    ap = ssidOf(base);
    if (ap === undefined) {
      ap = EMULATED_AP;
      config = { ...config, wifi: { ssid: ap.ssid, password: ap.password } };
    }
  } else if (typeof options.wifi === "object") ap = options.wifi;
  const boards: InterpreterBoard[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(boards.map((b) => b.interpreter.stop()));
  };
  try {
    for (let index = 1; index <= count; index++) {
      const p = port + index - 1;
      const telnet = index === 1 && options.console !== false;
      const mac = `5e:5f:a1:a0:00:${index.toString(16).padStart(2, "0")}`;
      let board: InterpreterBoard | undefined;
      const interpreter = await EspruinoInterpreter.start({
        bin: options.bin,
        program: options.firmwarePath,
        config: { ...config, port: p },
        telnet,
        ...(ap === undefined ? {} : { wifi: { ...ap, mac } }),
        ...(options.dirOf === undefined ? {} : { dir: options.dirOf(index) }),
        onLine: (line) => {
          if (board !== undefined) options.onLine?.(board, line);
        },
      });
      board = {
        index,
        address: "127.0.0.1",
        port: p,
        consolePort: telnet ? TELNET_PORT : undefined,
        interpreter,
      };
      boards.push(board);
      for (const line of interpreter.lines) options.onLine?.(board, line);
      await interpreter.waitForLine(/^syfala \S+ on \S+: port \d+/, 0, 10000);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { boards, stop };
}
