/**
 * The firmware build (issue 4): one file, inside the Espruino subset, within the budget, with
 * no require of anything but Espruino's built-in modules; and a build that fails, naming the
 * construct, when the source leaves the subset.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type BuildResult,
  buildFirmware,
  MINIFIED_BUDGET_BYTES,
  shadowedGlobals,
  topLevelNames,
} from "../scripts/build-firmware.js";
import { checkEspruinoSubset, ESPRUINO_BUILTIN_MODULES } from "../scripts/espruino-gate.js";

const out = mkdtempSync(join(tmpdir(), "syfala-fw-"));
let built: BuildResult;

beforeAll(async () => {
  built = await buildFirmware({ outDir: out });
}, 60_000);

describe("make firmware", () => {
  it("writes syfala.js and syfala.min.js, the minified one within the 24 KB budget", () => {
    expect(readFileSync(built.files.plain, "utf8")).toBe(built.code);
    expect(readFileSync(built.files.minified, "utf8")).toBe(built.minified);
    expect(Buffer.byteLength(built.minified)).toBeLessThanOrEqual(MINIFIED_BUDGET_BYTES);
    expect(built.modules).toContain("firmware/main");
    expect(built.modules).toContain("shared/endpoint/server");
  });

  it("the minified file runs unwrapped (no scope link per function) and replaces no Espruino global", () => {
    expect(built.minified).not.toMatch(/^\(function\(\)\{/m);
    expect(built.minified.split("\n")[1]).toMatch(/^E\.setFlags\(\{pretokenise:1\}\);/);
    const names = topLevelNames(built.minified);
    expect(names.length).toBeGreaterThan(50);
    expect(shadowedGlobals(built.minified)).toEqual([]);
    expect(shadowedGlobals("function E(){} const D5=1, LED1=2; let print, a1; class Kt{}")).toEqual([
      "E",
      "D5",
      "LED1",
      "print",
    ]);
  });

  it("both files pass the Espruino-subset gate", () => {
    expect(checkEspruinoSubset(built.code, "syfala.js")).toEqual([]);
    expect(checkEspruinoSubset(built.minified, "syfala.min.js")).toEqual([]);
  });

  it("requires only Espruino's built-in modules, by literal name", () => {
    for (const text of [built.code, built.minified]) {
      const names = [...text.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(ESPRUINO_BUILTIN_MODULES).toContain(n);
      expect(text).not.toMatch(/\bimport\b|\bexport\b/);
    }
  });

  it("fails, naming file, line and construct, on source outside the subset", async () => {
    await expect(
      buildFirmware({ entry: "test/fixtures/firmware-build/default-param.ts", outDir: join(out, "bad1") }),
    ).rejects.toThrow(/syfala\.js:\d+:\d+: default-param/);
    await expect(
      buildFirmware({ entry: "test/fixtures/firmware-build/own-require.ts", outDir: join(out, "bad2") }),
    ).rejects.toThrow(/require.*syfala-helpers/);
  });

  it("fails above the budget, listing each module's share", async () => {
    await expect(buildFirmware({ outDir: join(out, "small"), budgetBytes: 1000 })).rejects.toThrow(
      /over the 1000-byte budget[\s\S]*shared\/endpoint\/server/,
    );
  });
});
