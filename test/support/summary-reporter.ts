/**
 * Prints one plain closing line, `Tests: N passed, N failed, N skipped`, after vitest's own
 * summary, so that any tool reading the end of a CI log can count the tests.
 *
 * With REQUIRE_ALL=1 (as .ci/run sets it) a skipped test fails the run: the reporter lists every
 * skipped test (file > name) and sets the exit code to 1, so that a suite that quietly stopped
 * running (a missing tool, a missing ESPRUINO_BIN) cannot pass CI.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedNames: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === "passed") passed++;
        else if (s === "failed") failed++;
        else {
          skipped++;
          skippedNames.push(`${m.moduleId.replace(`${process.cwd()}/`, "")} > ${t.fullName}`);
        }
      }
      if (m.state() === "failed" && m.children.size === 0) failed++;
    }
    const requireAll = process.env["REQUIRE_ALL"] === "1";
    if (requireAll && skipped > 0) {
      process.stdout.write(`\nREQUIRE_ALL=1: ${skipped} skipped test(s) fail the run:\n`);
      for (const n of skippedNames) process.stdout.write(`  skipped: ${n}\n`);
      process.exitCode = 1;
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
