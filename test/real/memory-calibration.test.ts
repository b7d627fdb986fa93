/**
 * The real-interpreter tier (ESPRUINO_BIN): the emulator's memory estimate (host/emulator/
 * memory.ts) calibrated against the real interpreter's `process.memory().usage`, both measured
 * in this run with the same firmware text and configuration (test/support/memory-calibration.ts):
 * the default configuration and the tier's (loopback pair + pattern), postcard and the msgpack
 * build, code run from RAM and booted from flash (.bootcde), idle and with one client streaming.
 * The stated tolerance: the estimate is within 15 % of the real count in every state. Both
 * figures are printed per state. One interpreter at a time; UDP ports 46060-46079.
 */
import { existsSync } from "node:fs";
import { afterAll, expect, it } from "vitest";
import { ROOT } from "../support/client-boards.js";
import {
  type CodeOrigin,
  calibrationCases,
  deviationPercent,
  emulatorFigures,
  realFigures,
  type StateFigures,
} from "../support/memory-calibration.js";
import {
  describeReal,
  espruinoBin,
  FIRMWARE_MIN,
  FIRMWARE_MSGPACK_MIN,
  firmwareFile,
} from "../support/real-boards.js";

/** The stated tolerance of the emulator's estimate (host/emulator/README.md). */
const TOLERANCE_PERCENT = 15;
/** 2 ports per case and origin: 46060-46071. */
const FIRST_PORT = 46060;

describeReal("the emulator's memory estimate against the real interpreter, state by state", () => {
  const table: string[] = [];
  let port = FIRST_PORT;

  afterAll(() => {
    console.log(`memory calibration (blocks in use: real, emulator, deviation):\n  ${table.join("\n  ")}`);
  });

  // A missing build fails (naming the make target) instead of giving no cases.
  const built = existsSync(FIRMWARE_MIN) && existsSync(FIRMWARE_MSGPACK_MIN);
  if (!built) {
    it("the firmware files are built", () => {
      firmwareFile(FIRMWARE_MIN);
      firmwareFile(FIRMWARE_MSGPACK_MIN);
    });
  }
  const cases = built ? calibrationCases(ROOT) : [];
  for (const c of cases) {
    for (const origin of ["ram", "flash"] as CodeOrigin[]) {
      const realPort = port++;
      const emuPort = port++;
      it(`${c.name}, code from ${origin}: idle and one client streaming, within ${TOLERANCE_PERCENT} %`, async () => {
        const bin = espruinoBin();
        const real: StateFigures = await realFigures(bin, c, origin, realPort);
        const emu: StateFigures = await emulatorFigures(c, origin, emuPort);
        for (const state of ["idle", "streaming"] as const) {
          const d = deviationPercent(emu[state], real[state]);
          const sign = emu[state] >= real[state] ? "+" : "-";
          const line = `${c.name}, ${origin}, ${state}: real ${real[state]}, emulator ${emu[state]} (${sign}${d.toFixed(1)} %)`;
          table.push(line);
          console.log(`memory calibration: ${line}`);
        }
        // Not vacuous: the firmware is there on both sides (a few hundred blocks at least), and
        // a streaming client adds to both.
        for (const f of [real, emu]) {
          expect(f.idle).toBeGreaterThan(1000);
          expect(f.streaming).toBeGreaterThan(f.idle);
        }
        for (const state of ["idle", "streaming"] as const) {
          expect(
            deviationPercent(emu[state], real[state]),
            `${state}: emulator ${emu[state]} vs real ${real[state]}`,
          ).toBeLessThanOrEqual(TOLERANCE_PERCENT);
        }
      });
    }
  }
});
