/**
 * The real CLI (bin/syfala.mjs) as a child process, its output collected: for the tests that
 * need a process of its own (Ctrl-C, another working directory, a long-running command).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./client-boards.js";

export interface SyfalaProcess {
  readonly child: ChildProcess;
  /** Standard output so far. */
  out(): string;
  /** Standard error so far. */
  err(): string;
  /** The exit code (null after a signal). */
  readonly exited: Promise<number | null>;
}

/** Starts `syfala ARGS...` in `cwd` (default: the project root), standard input closed. */
export function startSyfala(args: readonly string[], cwd: string = ROOT): SyfalaProcess {
  const child = spawn(process.execPath, [join(ROOT, "bin/syfala.mjs"), ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}
