/**
 * A network namespace of the test's own (`unshare -n`, only lo up) for the tests that run upload
 * tools: inside it they provably reach nothing but this machine's loopback.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { ROOT } from "./client-boards.js";

const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].find((p) => existsSync(p));

/** True when `unshare -n` works here and gives a namespace whose lo can be brought up. */
export function namespacesWork(): boolean {
  if (IP === undefined) return false;
  const r = spawnSync("unshare", ["-n", "sh", "-c", `${IP} link set lo up && ${IP} -o addr show lo`], {
    encoding: "utf8",
    timeout: 10000,
  });
  return r.status === 0 && r.stdout.includes("127.0.0.1");
}

/** Why a namespace test skips (printed once, then `ctx.skip()`; REQUIRE_ALL=1 fails the run). */
export const NO_NAMESPACES = "skipped: network namespaces are not permitted here (unshare -n failed)";

/**
 * Runs `node --import tsx SCRIPT ARGS...` from the project root in a namespace of its own (lo up),
 * waiting at most `timeoutMs`; its standard output carries the result (last line JSON, by the
 * runners' convention).
 */
export function runInNamespace(
  script: string,
  args: readonly (string | number)[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  const cmd = [`${IP} link set lo up && exec node --import tsx ${script}`, ...args.map(String)].join(" ");
  return spawnSync("unshare", ["-n", "sh", "-c", cmd], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: timeoutMs,
    env,
  });
}
