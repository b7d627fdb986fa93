/**
 * Runs the REAL Espruino upload tool (node_modules/espruino) against an emulated board's TCP
 * console, as the network-namespace upload runners of the emulator tests do: its exit code and
 * everything it printed; killed after `timeoutMs`. `boardFile`: the board file to give it (default
 * the emulator's).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { espruinoToolArgs } from "../../host/emulator/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function runEspruinoTool(
  consolePort: number,
  file: string,
  save: boolean,
  timeoutMs: number,
  boardFile?: string,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    [
      `${ROOT}node_modules/espruino/bin/espruino-cli.js`,
      ...espruinoToolArgs(consolePort, file, save, boardFile),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}
