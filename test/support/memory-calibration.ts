/**
 * The emulator's memory estimate beside the real interpreter's count, state by state, for the
 * same firmware text and configuration (test/real/memory-calibration.test.ts; also runnable as
 * a script, `node --import tsx test/support/memory-calibration.ts`, which prints the table):
 * - `ram`: the real interpreter runs the file directly (`espruino FILE`: code text in RAM); the
 *   emulated board gets it as one console chunk (`Board.evaluate`, code origin RAM), as an upload
 *   into RAM would;
 * - `flash`: the file is Storage's `.bootcde` and the REPL boots it (the real interpreter started
 *   without a file; the emulated board at power-on), as after an upload with SAVE_ON_SEND=1;
 * - `idle`: 1.5 s after the boot line; `streaming`: one client (host/client Session, silence on
 *   every output stream) with IO started, 1.5 s in.
 * No Wi-Fi on either side (the Linux build has no Wifi module; the emulator's linux profile
 * neither), so both serve at once and hold the same objects.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Session } from "../../host/client/session.js";
import { startBoards } from "../../host/emulator/index.js";
import { EspruinoInterpreter } from "../../host/espruino/interpreter.js";

export type CodeOrigin = "ram" | "flash";

export interface CalibrationCase {
  /** A short name for the report. */
  readonly name: string;
  /** The firmware text (read once: the same bytes go to both sides). */
  readonly firmware: string;
  /** syfala.json, without `port` (added per run). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly codec: "postcard" | "msgpack";
}

/** Blocks in use in the two states of one run. */
export interface StateFigures {
  readonly idle: number;
  readonly streaming: number;
}

const SETTLE_MS = 1500;
const BOOT = /^syfala \S+ on \S+: port \d+/;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One client streaming for `during`: connect, start IO, wait, `during()`, then stop and close. */
async function withStreamingClient<T>(
  address: string,
  port: number,
  codec: CalibrationCase["codec"],
  during: () => Promise<T>,
): Promise<T> {
  const session = await Session.open({ address, port, codec, minDeliveredPercent: 0 });
  try {
    await session.connect(5000);
    await session.startIO();
    const run = session.run(SETTLE_MS + 1500);
    await sleep(SETTLE_MS);
    const v = await during();
    await run;
    await session.stopIO(1000);
    return v;
  } finally {
    session.close();
  }
}

/** The real interpreter's blocks in use (process.memory().usage over --telnet). */
export async function realFigures(
  bin: string,
  c: CalibrationCase,
  origin: CodeOrigin,
  port: number,
): Promise<StateFigures> {
  const dir = mkdtempSync(join(tmpdir(), "syfala-calibration-"));
  const file = join(dir, "firmware.js");
  writeFileSync(file, c.firmware, "latin1");
  let it: EspruinoInterpreter | undefined;
  try {
    it = await EspruinoInterpreter.start({
      bin,
      dir,
      telnet: true,
      config: { ...c.config, port },
      ...(origin === "ram" ? { program: file } : { files: { ".bootcde": c.firmware } }),
    });
    const board = it;
    await board.waitForLine(BOOT, 0, 10000);
    await board.openConsole();
    await sleep(SETTLE_MS);
    const idle = (await board.health()).usage;
    const streaming = await withStreamingClient(
      "127.0.0.1",
      port,
      c.codec,
      async () => (await board.health()).usage,
    );
    return { idle, streaming };
  } finally {
    await it?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The emulator's estimate (Board.memory(), the walk process.memory() does), linux profile. */
export async function emulatorFigures(
  c: CalibrationCase,
  origin: CodeOrigin,
  port: number,
): Promise<StateFigures> {
  const lan = await startBoards({
    profile: "linux",
    config: { ...c.config, port },
    ...(origin === "flash" ? { firmware: c.firmware } : {}),
  });
  try {
    const board = lan.boards[0];
    if (board === undefined) throw new Error("no board");
    if (origin === "ram") board.evaluate(c.firmware);
    await sleep(SETTLE_MS);
    const idle = board.memory().usage;
    const streaming = await withStreamingClient(
      board.address,
      port,
      c.codec,
      async () => board.memory().usage,
    );
    return { idle, streaming };
  } finally {
    await lan.stop();
  }
}

/** The tier's configurations: the default one, the session suite's (loopback pair + pattern). */
export const DEFAULT_CONFIG: Readonly<Record<string, unknown>> = {};
export const TIER_CONFIG: Readonly<Record<string, unknown>> = {
  statusEveryMs: 0,
  maxClients: 4,
  maxStreamingClients: 2,
  inputs: [{ source: "loopback" }, { source: "pattern" }],
  outputs: [{ sink: "loopback" }],
};

/** The calibration's cases, from the built files under `root`. */
export function calibrationCases(root: string): CalibrationCase[] {
  const postcard = readFileSync(join(root, "build/firmware/syfala.min.js"), "latin1");
  const msgpack = readFileSync(join(root, "build/firmware-msgpack/syfala.min.js"), "latin1");
  return [
    { name: "default", firmware: postcard, config: DEFAULT_CONFIG, codec: "postcard" },
    { name: "loopback+pattern", firmware: postcard, config: TIER_CONFIG, codec: "postcard" },
    { name: "msgpack loopback+pattern", firmware: msgpack, config: TIER_CONFIG, codec: "msgpack" },
  ];
}

/** |estimate - real| / real, in percent. */
export function deviationPercent(estimate: number, real: number): number {
  return (100 * Math.abs(estimate - real)) / real;
}

// As a script: the whole table.
if (import.meta.url === `file://${process.argv[1]}`) {
  const bin = process.env["ESPRUINO_BIN"];
  if (bin === undefined) throw new Error("ESPRUINO_BIN is not set");
  const root = new URL("../..", import.meta.url).pathname;
  const only = process.argv[2];
  let port = 46072;
  for (const c of calibrationCases(root)) {
    if (only !== undefined && !c.name.startsWith(only)) continue;
    for (const origin of ["ram", "flash"] as const) {
      const real = await realFigures(bin, c, origin, port++);
      const emu = await emulatorFigures(c, origin, port++);
      for (const s of ["idle", "streaming"] as const) {
        console.log(
          `${c.name} ${origin} ${s}: real ${real[s]}, emulator ${emu[s]} (${(emu[s] - real[s] >= 0 ? "+" : "") + ((100 * (emu[s] - real[s])) / real[s]).toFixed(1)} %)`,
        );
      }
    }
  }
  process.exit(0);
}
