/**
 * `syfala`: the command-line entry. Dispatches to one module per command; every command takes
 * `--help`, reports bad arguments as one line with exit code 2, and returns its exit code rather
 * than calling process.exit, so that tests can run it in-process.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { configureCommand } from "./configure.js";
import { discoverCommand } from "./discover.js";
import { emulateCommand } from "./emulate.js";
import { flashCommand } from "./flash.js";
import { listPortsCommand } from "./list-ports.js";
import { monitorCommand } from "./monitor.js";
import { netemCommand } from "./netem.js";
import { sessionCommand } from "./session.js";
import { EXIT, type Io, UsageError } from "./usage.js";
import { wireCommand } from "./wire.js";

const USAGE = `usage: syfala <command> [options]

commands:
  wire decode   decode datagrams given in hex (one JSON line each)
  wire encode   encode canonical-JSON messages to hex
  emulate       run emulated boards with the firmware on a loopback LAN
  discover      list the servers that answer Discovery
  session       connect to a server, stream, record/play, report
  flash         upload the firmware and its configuration to a board, and check it runs
  configure     change a board's stored configuration (Wi-Fi, formats) without uploading
  monitor       a terminal on a board's console (serial or tcp://), Ctrl-] to leave
  list-ports    serial ports, marking those that look like ESP32 boards
  netem         a UDP proxy that injects seeded loss, bursts, duplication, reordering, delay, rate limits

Run 'syfala <command> --help' for a command's options; 'syfala --version' prints the version.`;

/** A command: takes its arguments and the io, returns the exit code. */
export type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  wire: wireCommand,
  emulate: emulateCommand,
  discover: discoverCommand,
  session: sessionCommand,
  flash: flashCommand,
  configure: configureCommand,
  monitor: monitorCommand,
  "list-ports": listPortsCommand,
  netem: netemCommand,
};

/** The process's io. */
export const processIo: Io = {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
  stdinLines: () => createInterface({ input: process.stdin, crlfDelay: Infinity }),
};

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(USAGE);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    io.out(`syfala ${packageVersion()}`);
    return EXIT.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`syfala: unknown command '${name}' (try 'syfala --help')`);
    return EXIT.USAGE;
  }
  try {
    return await command(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`syfala ${name}: ${e.message}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}

/** The package's version (package.json beside host/). */
export function packageVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
