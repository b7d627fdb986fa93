/**
 * The real-interpreter tier's common ground (test/real/): where the interpreter is (ESPRUINO_BIN,
 * which .ci/run sets; the project never looks for it anywhere else), the firmware files a board
 * receives, boards started as interpreter processes (host/espruino/), and the health read-back
 * (blocks in use, error flags) each step prints.
 *
 * Without ESPRUINO_BIN the tier's tests are skipped (test/real/tier-setup.ts prints the one line
 * saying so); with it, an interpreter that cannot start fails them.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe } from "vitest";
import { type InterpreterBoards, startInterpreterBoards } from "../../host/espruino/boards.js";
import type { EspruinoInterpreter, Health } from "../../host/espruino/interpreter.js";
import { ROOT, type StreamConfig } from "./client-boards.js";

/** The interpreter binary, or undefined when ESPRUINO_BIN is not set. */
export const ESPRUINO_BIN: string | undefined = process.env["ESPRUINO_BIN"] || undefined;

/** `describe`, skipped when ESPRUINO_BIN is not set. */
export const describeReal = describe.skipIf(ESPRUINO_BIN === undefined);

/** The file a board receives, and the msgpack build's. */
export const FIRMWARE_MIN = join(ROOT, "build/firmware/syfala.min.js");
export const FIRMWARE_MSGPACK_MIN = join(ROOT, "build/firmware-msgpack/syfala.min.js");

/** The interpreter binary; throws (a failure, not a skip) when it is set but missing. */
export function espruinoBin(): string {
  if (ESPRUINO_BIN === undefined) throw new Error("ESPRUINO_BIN is not set");
  if (!existsSync(ESPRUINO_BIN)) throw new Error(`ESPRUINO_BIN=${ESPRUINO_BIN}: no such file`);
  return ESPRUINO_BIN;
}

/** The firmware file `path`; throws naming the make target when it is missing. */
export function firmwareFile(path: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: run 'make firmware'${path.includes("msgpack") ? " MSGPACK=1" : ""} first`,
    );
  }
  return path;
}

/**
 * One board on the real interpreter running `firmware` on UDP `port` with these streams (up to
 * 4 clients, 2 streaming, no status line), the telnet console open; its console lines are also
 * kept in the returned interpreter's `lines`. `wifi`: with the emulated Wi-Fi prelude.
 */
export async function realBoard(
  firmware: string,
  port: number,
  inputs: StreamConfig[],
  outputs: StreamConfig[],
  wifi = false,
): Promise<{ boards: InterpreterBoards; interpreter: EspruinoInterpreter }> {
  const boards = await startInterpreterBoards({
    bin: espruinoBin(),
    firmwarePath: firmwareFile(firmware),
    config: {
      ...(wifi ? { wifi: { ssid: "real-lab", password: "secret" } } : {}),
      statusEveryMs: 0,
      maxClients: 4,
      maxStreamingClients: 2,
      inputs,
      outputs,
    },
    port,
    wifi,
  });
  const interpreter = boards.boards[0]?.interpreter;
  if (interpreter === undefined) throw new Error("no board");
  try {
    await interpreter.openConsole();
  } catch (e) {
    await boards.stop();
    throw e;
  }
  return { boards, interpreter };
}

/** Health readings of this file, printed as they are taken and at the end (for the report). */
export const healthLog: string[] = [];

/** Reads blocks in use and error flags, prints them with `step`, and returns them. */
export async function readHealth(interpreter: EspruinoInterpreter, step: string): Promise<Health> {
  const h = await interpreter.health();
  const line = `real: ${step}: ${h.usage} blocks in use (of ${h.total}), error flags [${h.errorFlags.join(", ")}]`;
  healthLog.push(line);
  console.log(line);
  return h;
}

/**
 * The flags a run from RAM may show once after boot on the Linux build: its heap starts at 4,096
 * blocks and grows when the firmware's code text is loaded, setting LOW_MEMORY as it does. An
 * ESP32 cannot grow its heap: there the same flag would be real.
 */
export const BOOT_FLAGS_FROM_RAM: readonly string[] = ["LOW_MEMORY"];
