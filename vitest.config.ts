import { configDefaults, defineConfig } from "vitest/config";

/**
 * Two projects in one run, so that `make test` ends with one summary line covering both:
 * - "suite": everything in test/ but test/real/, files in parallel (group 0, first);
 * - "real": the real-interpreter tier (test/real/, ESPRUINO_BIN), after the suite (group 1),
 *   one file at a time (each interpreter busy-polls a core; a file starts at most two).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/real/**"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "real",
          include: ["test/real/**/*.test.ts"],
          globalSetup: ["./test/real/tier-setup.ts"],
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
