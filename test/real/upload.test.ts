/**
 * The real-interpreter tier (ESPRUINO_BIN): uploads to the real Espruino interpreter over its
 * `--telnet` console, inside a network namespace of its own (`unshare -n`, only lo) holding both
 * the interpreter and the upload tools, so that they provably reach nothing else: the real
 * `espruino` tool into flash (SAVE_ON_SEND=1), a restart that boots from flash, `syfala flash`
 * with and without --config (flash by default, --ram), `syfala configure` with and without
 * --config, and a power cycle (test/support/real-upload-runner.ts does the steps). Blocks in use
 * and error flags are read back after each. UDP port 46200 (inside the namespace).
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { NO_NAMESPACES, namespacesWork, runInNamespace } from "../support/namespace.js";
import {
  BOOT_FLAGS_FROM_RAM,
  describeReal,
  espruinoBin,
  FIRMWARE_MIN,
  firmwareFile,
} from "../support/real-boards.js";
import type { Step } from "../support/real-upload-runner.js";

const PORT = 46200;

describeReal("uploads to the real interpreter over --telnet, in a network namespace", () => {
  it("the espruino tool into flash, a boot from flash, syfala flash and configure with and without --config", (ctx) => {
    const bin = espruinoBin();
    firmwareFile(FIRMWARE_MIN);
    if (!namespacesWork()) {
      console.log(NO_NAMESPACES);
      ctx.skip();
      return;
    }
    const r = runInNamespace("test/support/real-upload-runner.ts", [PORT], 150000, {
      ...process.env,
      ESPRUINO_BIN: bin,
    });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as {
      steps: Step[];
      lines: string[];
    };
    const steps = new Map(result.steps.map((s) => [s.name.split(":")[0]!.split(" (")[0]!, s]));
    for (const s of result.steps) {
      const h = s.health;
      console.log(
        `real upload: ${s.name}: ${s.ok ? "ok" : `FAILED: ${s.error}`}` +
          (h === undefined
            ? ""
            : `; ${h.usage} blocks in use (of ${h.total}), error flags [${h.errorFlags.join(", ")}]`),
      );
    }
    const failed = result.steps.find((s) => !s.ok);
    if (failed !== undefined) {
      expect.fail(`${failed.name}: ${failed.error}; ${String(JSON.stringify(failed.detail)).slice(0, 3000)}`);
    }
    expect(result.steps).toHaveLength(8);
    expect(result.lines.filter((l) => /Uncaught/.test(l))).toEqual([]);

    const size = readFileSync(FIRMWARE_MIN, "latin1").length;
    const tool = steps.get("espruino tool")!;
    expect(tool.detail["bootcde"], "the tool stored the file as .bootcde").toBeGreaterThanOrEqual(size);
    expect(String(tool.detail["toolOutput"])).toContain("Upload Complete");
    expect(String(tool.detail["toolOutput"])).not.toMatch(
      /getURL|Module .* not found|Unable to connect|Uncaught/,
    );
    expect(tool.detail["bootLine"]).toMatch(new RegExp(`^syfala \\S+ on LINUX: port ${PORT}, 1 in, 1 out$`));
    expect(steps.get("restart without a file")!.detail["bootLine"]).toMatch(
      /on LINUX: port 46200, 1 in, 1 out$/,
    );

    const flash = steps.get("syfala flash")!.detail["report"] as Record<string, unknown>;
    expect(flash).toMatchObject({ ok: true, board: "LINUX", saved: true, config: null, udpPort: PORT });
    expect(flash["discovery"]).toMatchObject({ address: "127.0.0.1", port: PORT });
    const ram = steps.get("syfala flash --config FILE --ram")!.detail["report"] as Record<string, unknown>;
    expect(ram).toMatchObject({ ok: true, saved: false, config: { inputs: [{ source: "loopback" }] } });
    const loop = steps.get("syfala flash --config FILE --ram")!.detail["session"] as {
      loopback: { mismatched: number; ok: boolean; compared: number }[];
    };
    expect(loop.loopback[0]).toMatchObject({ mismatched: 0, ok: true });
    expect(loop.loopback[0]!.compared).toBeGreaterThan(20000);
    expect(steps.get("syfala configure --config FILE --restart")!.detail["out"]).toContainEqual(
      expect.stringMatching(/^restarted \(load\(\)\): syfala \S+ on LINUX: port 46200, 1 in, 1 out$/),
    );
    expect(steps.get("syfala configure --formats --restart")!.detail["out"]).toContainEqual(
      expect.stringMatching(/^restarted \(load\(\)\): syfala \S+ on LINUX: port 46200, 2 in, 1 out$/),
    );
    expect(steps.get("power cycle")!.detail["bootLine"]).toMatch(/on LINUX: port 46200, 2 in, 1 out$/);

    for (const s of result.steps) {
      const session = s.detail["session"] as
        | { ok?: boolean; content?: { ok: boolean; mismatched: number }[] }
        | undefined;
      if (session !== undefined) {
        expect(session.ok, `${s.name}: the session`).toBe(true);
        for (const c of session.content ?? []) expect(c).toMatchObject({ ok: true, mismatched: 0 });
      }
      // Flags: none, but for the RAM upload, whose code text grows the Linux build's heap (LOW_MEMORY as it does).
      const flags = s.health?.errorFlags ?? [];
      if (s.name.includes("--ram")) for (const f of flags) expect(BOOT_FLAGS_FROM_RAM).toContain(f);
      else expect(flags, `${s.name}: error flags`).toEqual([]);
    }
  }, 180000);
});
