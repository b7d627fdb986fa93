/**
 * Runs inside a network namespace of its own (test/real/upload.test.ts: `unshare -n`, only lo,
 * up), with the real Espruino interpreter (ESPRUINO_BIN) in the same namespace, so that the
 * upload tools provably reach nothing but the interpreter's telnet console. One interpreter,
 * started as the REPL with only its configuration (and the emulated Wi-Fi as `.boot0`) in
 * Storage, then, step by step:
 * 1. `tool`: the real `espruino` tool (node_modules/espruino) uploads build/firmware/syfala.min.js
 *    over `--telnet` into flash (SAVE_ON_SEND=1); the firmware serves;
 * 2. `restart`: the interpreter is killed and started again without a file: it boots the
 *    firmware from flash (.bootcde) and serves;
 * 3. `flash`: `syfala flash` without --config (saves to flash by default);
 * 4. `flash --config --ram`: a loopback configuration, uploaded into RAM only;
 * 5. `configure --config --restart`: back to a pattern input, restarted in place;
 * 6. `configure --formats --restart` (no --config): the board's own syfala.json changed;
 * 7. `power cycle`: killed and started again: the firmware saved in step 3 boots with step 6's
 *    configuration.
 * After each: blocks in use and error flags over the telnet console, and a session (`syfala
 * session --expect-pattern`, or `--check-loopback` for the loopback configuration).
 * Usage: `node --import tsx test/support/real-upload-runner.ts PORT`; prints one JSON line:
 * {steps: [{name, ok, error?, detail, health?}], lines}.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanLines } from "../../host/board/console.js";
import { EspruinoInterpreter, type Health, LINUX_BOARD_FILE } from "../../host/espruino/interpreter.js";
import { runCli } from "./cli.js";
import { runEspruinoTool } from "./espruino-tool.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIRMWARE = `${ROOT}build/firmware/syfala.min.js`;
const port = Number(process.argv[2]);
const bin = process.env["ESPRUINO_BIN"] ?? "";
const CONSOLE = "tcp://127.0.0.1:2323";
const WIFI = { ssid: "real-lab", password: "secret" };
const BOOT = /^syfala (\S+) on LINUX: port (\d+), (\d+) in, (\d+) out$/;

/** One step of the run, as test/real/upload.test.ts reads it from the last line of output. */
export interface Step {
  name: string;
  ok: boolean;
  error?: string;
  detail: Record<string, unknown>;
  health?: Health;
}
const steps: Step[] = [];

/** Writes a syfala.json for the board into its directory, with one input and one output. */
function configFile(name: string, source: string, sink: string): string {
  const file = join(board.dir, name);
  writeFileSync(
    file,
    JSON.stringify({ wifi: WIFI, port, statusEveryMs: 0, inputs: [{ source }], outputs: [{ sink }] }),
  );
  return file;
}

const board = await EspruinoInterpreter.start({
  bin,
  telnet: true,
  config: {
    wifi: WIFI,
    port,
    statusEveryMs: 0,
    inputs: [{ source: "pattern" }],
    outputs: [{ sink: "discard" }],
  },
  wifi: WIFI,
});

/** Runs one step; its health after it; throws on to stop the run when it fails. */
async function step(name: string, body: (detail: Record<string, unknown>) => Promise<void>): Promise<void> {
  const detail: Record<string, unknown> = {};
  try {
    await body(detail);
    const health = await board.health();
    steps.push({ name, ok: true, detail, health });
  } catch (e) {
    steps.push({ name, ok: false, error: e instanceof Error ? e.message : String(e), detail });
    throw e;
  }
}

/** `syfala session` against the board: --expect-pattern, or --check-loopback; its JSON report. */
async function session(kind: "pattern" | "loopback"): Promise<Record<string, unknown>> {
  const r = await runCli([
    "session",
    `127.0.0.1:${port}`,
    "--duration",
    "1500ms",
    kind === "pattern" ? "--expect-pattern" : "--check-loopback",
    "--json",
  ]);
  if (r.code !== 0) throw new Error(`syfala session exited ${r.code}: ${[...r.err, ...r.out].join(" | ")}`);
  const j = JSON.parse(r.out[0] ?? "{}") as Record<string, unknown>;
  return { ok: j["ok"], content: j["content"], loopback: j["loopback"] };
}

/** The length of a Storage file (-1: none). */
async function storedLength(name: string): Promise<number> {
  const con = await board.openConsole();
  const v = await con.evaluate(
    `(function(){var c=require("Storage").read(${JSON.stringify(name)});return c===undefined?-1:c.length})()`,
  );
  return typeof v === "number" ? v : -2;
}

/** A `syfala` command over the telnet console (ours closed meanwhile: it serves one client). */
async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  await board.closeConsole();
  const r = await runCli(args);
  if (r.code !== 0)
    throw new Error(`syfala ${args[0]} exited ${r.code}: ${[...r.err, ...r.out].join(" | ")}`);
  return r;
}

const firmwareBytes = readFileSync(FIRMWARE, "latin1").length;
try {
  await step("empty interpreter (REPL, configuration only)", async (d) => {
    d["bootcde"] = await storedLength(".bootcde");
  });

  await step("espruino tool: upload into flash (SAVE_ON_SEND=1) over --telnet", async (d) => {
    await board.closeConsole();
    const up = await runEspruinoTool(2323, FIRMWARE, true, 90000, LINUX_BOARD_FILE);
    d["toolExit"] = up.code;
    d["toolOutput"] = up.output.slice(-3000);
    if (up.code !== 0) throw new Error(`the espruino tool exited ${up.code}`);
    // The tool prints what the board says, each line after "--] ".
    d["bootLine"] = cleanLines(up.output.replace(/^--\] /gm, "")).find((l) => BOOT.test(l));
    d["bootcde"] = await storedLength(".bootcde");
    d["firmwareBytes"] = firmwareBytes;
    d["session"] = await session("pattern");
  });

  await step("restart without a file: boots the firmware from flash", async (d) => {
    const from = board.mark();
    await board.restart(null);
    d["bootLine"] = await board.waitForLine(BOOT, from, 10000);
    d["session"] = await session("pattern");
  });

  await step("syfala flash (no --config: saves to flash by default)", async (d) => {
    const r = await cli(["flash", "--port", CONSOLE, "--json"]);
    d["report"] = JSON.parse(r.out[0] ?? "{}");
    d["bootcde"] = await storedLength(".bootcde");
    d["session"] = await session("pattern");
  });

  await step("syfala flash --config FILE --ram (loopback, into RAM only)", async (d) => {
    const file = configFile("loopback.json", "loopback", "loopback");
    const r = await cli(["flash", "--port", CONSOLE, "--config", file, "--ram", "--json"]);
    d["report"] = JSON.parse(r.out[0] ?? "{}");
    d["session"] = await session("loopback");
  });

  await step("syfala configure --config FILE --restart (pattern again)", async (d) => {
    const file = configFile("pattern.json", "pattern", "discard");
    const r = await cli(["configure", "--port", CONSOLE, "--config", file, "--restart"]);
    d["out"] = r.out;
    d["session"] = await session("pattern");
  });

  await step("syfala configure --formats --restart (no --config)", async (d) => {
    const r = await cli([
      "configure",
      "--port",
      CONSOLE,
      "--formats",
      "in=I16@16k/256:pattern,in=I16@16k/256:pattern,out=I16@16k/256:discard",
      "--restart",
    ]);
    d["out"] = r.out;
    const show = await cli(["configure", "--port", CONSOLE, "--show"]);
    d["show"] = show.out;
    d["session"] = await session("pattern");
  });

  await step(
    "power cycle: the firmware saved by syfala flash boots with the configured streams",
    async (d) => {
      const from = board.mark();
      await board.restart(null);
      d["bootLine"] = await board.waitForLine(BOOT, from, 10000);
      d["session"] = await session("pattern");
    },
  );
} catch {
  // the failed step is recorded
} finally {
  const lines = board.linesSince(0);
  await board.stop();
  process.stdout.write(`${JSON.stringify({ steps, lines })}\n`);
}
