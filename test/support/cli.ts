/** Runs the CLI in-process with captured output (and, optionally, standard input lines). */
import { main } from "../../host/cli/main.js";
import type { Io } from "../../host/cli/usage.js";

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

export async function runCli(argv: string[], stdin: string[] = []): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    stdinLines: async function* () {
      yield* stdin;
    },
  };
  const code = await main(argv, io);
  return { code, out, err };
}
