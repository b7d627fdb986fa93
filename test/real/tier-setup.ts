/**
 * The real-interpreter tier's global setup: one line saying whether the tier runs, on which
 * interpreter, or why it is skipped. It does not fail the run itself: with ESPRUINO_BIN set, a
 * tier test whose interpreter cannot start fails (a failure, never a skip).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): void {
  const bin = process.env["ESPRUINO_BIN"];
  if (bin === undefined || bin === "") {
    console.log(
      "real-interpreter tier (test/real/): skipped: ESPRUINO_BIN is not set (it names an Espruino interpreter, Linux build: README, 'The real-interpreter tier')",
    );
    return;
  }
  // Its Storage (espruino.flash) goes to the working directory: a temporary one.
  const dir = mkdtempSync(join(tmpdir(), "syfala-tier-"));
  const r = spawnSync(bin, ["-e", "print('<v>'+process.env.VERSION+'</v>')"], {
    cwd: dir,
    encoding: "latin1",
    timeout: 10000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  rmSync(dir, { recursive: true, force: true });
  const version = /<v>([^<]*)<\/v>/.exec(r.stdout ?? "")?.[1];
  console.log(
    version === undefined
      ? `real-interpreter tier (test/real/): ESPRUINO_BIN=${bin} does not run (${r.error?.message ?? `exit ${r.status}`}): its tests will fail`
      : `real-interpreter tier (test/real/): Espruino ${version} from ESPRUINO_BIN=${bin}`,
  );
}
