/**
 * Runs a piece of Espruino code in an emulated interpreter without a board (no network): for
 * checking snippets, and for tests that only need the language and the built-ins. The code is
 * gated and loaded like firmware; the loop then runs until nothing is pending (no timer, no
 * event, no promise job) or `maxMs` has passed. `require("Storage")` works (in memory);
 * `dgram` and `Wifi` throw.
 */

import { formatUncaught } from "./format.js";
import type { GatePolicy } from "./gate.js";
import { Interpreter, type InterpreterHost } from "./interpreter.js";
import { PROFILES, type ProfileName } from "./profile.js";
import { BoardStorage, storageModule } from "./storage.js";

export interface ScriptOptions {
  /** Defaults to "esp32". */
  readonly profile: ProfileName;
  /** Defaults to "syntax". */
  readonly gate: GatePolicy;
  /** Longest time to wait for timers and events, in ms. Defaults to 2000. */
  readonly maxMs: number;
}

export interface ScriptResult {
  /** Console output, one entry per line. */
  readonly output: string[];
  /** The load error (refused by the gate, or thrown at top level), printed as Espruino would. */
  readonly error: string | undefined;
  /** True when the gate refused the code. */
  readonly refused: boolean;
}

/** Runs `code` (see the file comment). */
export async function runScript(code: string, options: Partial<ScriptOptions> = {}): Promise<ScriptResult> {
  const output: string[] = [];
  const storage = new BoardStorage(undefined);
  const host: InterpreterHost = {
    profile: PROFILES[options.profile ?? "esp32"],
    serial: "script",
    memoryBlocks: PROFILES[options.profile ?? "esp32"].memoryBlocks,
    print: (text) => {
      output.push(...text.split("\n"));
    },
    note: () => undefined,
    module: (name, interp) => {
      if (name === "Storage") return storageModule(interp.realm, storage);
      throw interp.realm.error(`Module "${name}" is not available in runScript (use a board)`);
    },
    request: () => undefined,
    echo: () => undefined,
    setBootCode: () => undefined,
    nativeBlocks: () => 0,
    nativeRoots: () => [],
  };
  const interp = new Interpreter(host, { gate: options.gate ?? "syntax", evalTimeoutMs: 5000 });
  const r = interp.load(code, "script.js", "ram");
  const error = r.ok ? undefined : formatUncaught(r.error, "emu:");
  const end = Date.now() + (options.maxMs ?? 2000);
  // Idle twice in a row across a macrotask: promise jobs have run too.
  let idle = 0;
  while (Date.now() < end && idle < 2) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    idle = interp.loop.idle ? idle + 1 : 0;
  }
  interp.stop();
  return { output, error, refused: !r.ok && r.refused };
}
