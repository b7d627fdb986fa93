/**
 * `syfala emulate`: runs emulated boards (host/emulator) with the firmware file a real board gets,
 * on the virtual LAN on loopback, until Ctrl-C or SIGTERM. Board i answers at 127.0.0.(i+1) on
 * the configured UDP port, and its console (for `espruino -p tcp://127.0.0.1:PORT`, or telnet)
 * listens on 127.0.0.1:console-port+i-1. Every board's console output is printed, prefixed with
 * its address (or as one JSON object per line with --json-log). On Ctrl-C the boards shut down
 * like a real one being reset: `E.on('kill')` handlers first (the firmware can tell its clients),
 * then the sockets close; the exit code is 130 (143 on SIGTERM).
 *
 * `--engine espruino` runs each board as a real Espruino interpreter process instead
 * (host/espruino/): the firmware file a board gets, an emulated Wi-Fi prelude, board i on UDP
 * port + i - 1 at 127.0.0.1 (the interpreter binds every interface) and only board 1 with a
 * console (its telnet port is fixed at 2323).
 */

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type LogEntry, routeUnhandledRejections, startBoards } from "../emulator/index.js";
import { type InterpreterBoards, startInterpreterBoards } from "../espruino/boards.js";
import { oneOf, parse } from "./args.js";
import { inPackage } from "./paths.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala emulate [--boards N] [--config FILE] [--port 6910] [--console-port 2323]
                      [--firmware PATH] [--storage-dir DIR] [--profile esp32|linux] [--json-log]
                      [--engine vm|espruino] [--espruino-bin PATH]

Runs N emulated boards (default 1) with the firmware file (default build/firmware/syfala.js).
Board i answers at 127.0.0.(i+1) on UDP --port (default 6910; written into the configuration)
and has its console on 127.0.0.1:(console-port + i - 1) (default 2323), for
  espruino -p tcp://127.0.0.1:2323 --no-ble --board host/emulator/EMULATOR.json file.js
--config FILE is a syfala.json written into every board's Storage before boot; its wifi
ssid/password also name the emulated access point (without them, the boards are given the
emulated access point "syfala-emulator", no password, so that they join it). Storage files are kept in --storage-dir
(default build/emulator, one board-N.json per board). --profile linux has no Wi-Fi and no
6-datagram receive queue. Console output is printed as "[address] line"; --json-log prints one
JSON object per line instead: {"time":ms,"board":i,"address":"...","kind":"console"|"emulator","text":"..."}.
Ctrl-C (or SIGTERM) stops the boards: E.on('kill') handlers run, then the sockets close.
--engine espruino runs each board as a real Espruino interpreter process (the Linux build: 
--espruino-bin PATH, else $ESPRUINO_BIN) running the firmware file (default
build/firmware/syfala.min.js), with an emulated Wi-Fi module added in front of it. Board i then
serves on 127.0.0.1 (every interface) at UDP port + i - 1, since the interpreter cannot bind
an address; only board 1 has a console, tcp://127.0.0.1:2323 (the interpreter's fixed telnet
port); Storage is --storage-dir/espruino-board-N/espruino.flash (default: a temporary
directory each, removed at the end). It has no 6-datagram receive queue and no analog pins,
and each board busy-polls a CPU core while its socket is open. Ctrl-C kills the interpreters
(no E.on('kill') handlers run).
Exit codes: 130 after Ctrl-C, 143 after SIGTERM, 1 when the boards cannot start, 2 on bad arguments.`;

const PROFILES = ["esp32", "linux"] as const;
const ENGINES = ["vm", "espruino"] as const;

function integer(
  option: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${option} must be an integer in ${min}..${max} (got '${value}')`);
  }
  return n;
}

function readConfig(path: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`--config ${path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UsageError(`--config ${path}: not a JSON object`);
  }
  return data as Record<string, unknown>;
}

/** The emulated access point the boards join when the configuration names none. */
const EMULATED_WIFI = { ssid: "syfala-emulator", password: "" };

/** Whether `config` has Wi-Fi credentials (a non-empty ssid). */
function hasSsid(config: Record<string, unknown>): boolean {
  const w = config["wifi"];
  return (
    typeof w === "object" &&
    w !== null &&
    typeof (w as { ssid?: unknown }).ssid === "string" &&
    (w as { ssid: string }).ssid !== ""
  );
}
/** `syfala emulate`. */
export async function emulateCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      boards: { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
      "console-port": { type: "string" },
      firmware: { type: "string" },
      "storage-dir": { type: "string" },
      profile: { type: "string" },
      engine: { type: "string" },
      "espruino-bin": { type: "string" },
      "json-log": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const engine = oneOf("engine", values.engine, ENGINES, "vm");
  const count = integer("boards", values.boards, 1, 1, 253);
  const consolePort = integer("console-port", values["console-port"], 2323, 1, 65535 - count + 1);
  const profile = oneOf("profile", values.profile, PROFILES, "esp32");
  const firmwarePath =
    values.firmware ??
    inPackage(engine === "vm" ? "build/firmware/syfala.js" : "build/firmware/syfala.min.js");
  if (!existsSync(firmwarePath)) {
    throw new UsageError(`firmware file not found: ${firmwarePath} (build it with 'make firmware')`);
  }
  const given = values.config === undefined ? {} : readConfig(values.config);
  // A board without Wi-Fi credentials never joins a network (as on an ESP32): without them in
  // the configuration, the boards join the emulated access point, so that they can be reached.
  const config = hasSsid(given) ? given : { ...given, wifi: EMULATED_WIFI };
  const configPort = typeof config.port === "number" ? config.port : 6910;
  const port = integer("port", values.port, configPort, 1, 65535 - count + 1);
  const json = values["json-log"] === true;
  const print = (entry: LogEntry): void => {
    if (json) io.out(JSON.stringify(entry));
    else io.out(`[${entry.address}] ${entry.kind === "emulator" ? "(emulator) " : ""}${entry.text}`);
  };
  if (engine === "espruino") {
    if (values.profile !== undefined) throw new UsageError("--profile is for --engine vm only");
    if (values["console-port"] !== undefined && consolePort !== 2323) {
      throw new UsageError("--engine espruino: the interpreter's console port is fixed at 2323");
    }
    const bin = values["espruino-bin"] ?? process.env["ESPRUINO_BIN"];
    if (bin === undefined || bin === "") {
      throw new UsageError(
        "--engine espruino needs the interpreter: --espruino-bin PATH or ESPRUINO_BIN (README: the real-interpreter tier)",
      );
    }
    if (!existsSync(bin)) throw new UsageError(`--espruino-bin: no such file: ${bin}`);
    return emulateInterpreters(io, {
      bin,
      count,
      firmwarePath: resolve(firmwarePath),
      config,
      port,
      storageDir: values["storage-dir"],
      json,
      print,
    });
  } else if (values["espruino-bin"] !== undefined) {
    throw new UsageError("--espruino-bin is for --engine espruino only");
  }

  const unroute = routeUnhandledRejections();
  let lan: Awaited<ReturnType<typeof startBoards>>;
  try {
    lan = await startBoards({
      count,
      firmwarePath,
      config,
      port,
      consolePort,
      storageDir: values["storage-dir"] ?? "build/emulator",
      profile,
      onLog: print,
    });
  } catch (e) {
    unroute();
    io.err(`syfala emulate: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.FAILED;
  }
  for (const b of lan.boards) {
    if (json) {
      io.out(
        JSON.stringify({
          event: "board",
          board: b.index,
          address: b.address,
          port,
          consolePort: b.consolePort,
        }),
      );
    } else {
      io.out(`board ${b.index}: udp ${b.address}:${port}, console tcp://127.0.0.1:${b.consolePort}`);
    }
  }
  const code = await untilSignal();
  await lan.stop();
  unroute();
  if (json) io.out(JSON.stringify({ event: "stopped" }));
  else io.out("emulator stopped");
  return code;
}

/** Resolves with the exit code once SIGINT (130) or SIGTERM (143) arrives. */
function untilSignal(): Promise<number> {
  return new Promise<number>((resolve) => {
    const onInt = (): void => done(EXIT.INTERRUPTED);
    const onTerm = (): void => done(128 + 15);
    const done = (c: number): void => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(c);
    };
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}

/** `syfala emulate --engine espruino`: real interpreter processes until a signal. */
async function emulateInterpreters(
  io: Io,
  o: {
    bin: string;
    count: number;
    firmwarePath: string;
    config: Record<string, unknown>;
    port: number;
    storageDir: string | undefined;
    json: boolean;
    print: (entry: LogEntry) => void;
  },
): Promise<number> {
  let boards: InterpreterBoards;
  try {
    boards = await startInterpreterBoards({
      bin: o.bin,
      count: o.count,
      firmwarePath: o.firmwarePath,
      config: o.config,
      port: o.port,
      wifi: true,
      ...(o.storageDir === undefined
        ? {}
        : {
            dirOf: (i: number) => {
              const dir = join(o.storageDir as string, `espruino-board-${i}`);
              mkdirSync(dir, { recursive: true });
              return dir;
            },
          }),
      onLine: (b, line) =>
        o.print({
          time: Date.now(),
          board: b.index,
          address: `${b.address}:${b.port}`,
          kind: line.kind === "console" ? "console" : "emulator",
          text: line.text,
        }),
    });
  } catch (e) {
    io.err(`syfala emulate: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.FAILED;
  }
  for (const b of boards.boards) {
    const pid = b.interpreter.pid;
    if (o.json) {
      io.out(
        JSON.stringify({
          event: "board",
          board: b.index,
          address: b.address,
          port: b.port,
          consolePort: b.consolePort ?? null,
          engine: "espruino",
          pid,
        }),
      );
    } else {
      io.out(
        `board ${b.index}: udp ${b.address}:${b.port}, ` +
          (b.consolePort === undefined ? "no console" : `console tcp://127.0.0.1:${b.consolePort}`) +
          ` (espruino pid ${pid})`,
      );
    }
  }
  const code = await untilSignal();
  await boards.stop();
  if (o.json) io.out(JSON.stringify({ event: "stopped" }));
  else io.out("emulator stopped");
  return code;
}
