/**
 * The loader's use of the build's Espruino-subset gate (scripts/espruino-gate.ts, the SAME
 * function the firmware build runs). Every chunk of code the emulator is about to run (the
 * firmware at boot, each line typed or uploaded on the console) is checked first:
 * - constructs real Espruino cannot parse, or that throw there at run time in a way the emulator
 *   cannot reproduce (see {@link REFUSED_CONSTRUCTS}), REFUSE the chunk: it does not run and a
 *   SyntaxError is reported, as on the board (where the statements before the faulty one would
 *   have run: the emulator refuses the whole chunk);
 * - the other findings (a missing global or member, which the emulated context itself lacks and
 *   so fails on at run time; or something that runs silently differently, like a `let` loop
 *   closure) are only reported as warnings, and the code runs.
 * `policy: "all"` refuses every finding; `"off"` checks nothing.
 */

import { checkEspruinoSubset, type GateViolation } from "../../scripts/espruino-gate.js";

export type GatePolicy = "syntax" | "all" | "off";

/**
 * Findings that refuse a chunk under the default policy: not Espruino syntax (parse errors,
 * destructuring, spread, default parameters, `?.`, `**`, `??=`, async, generators, labels,
 * computed keys, tagged templates, BigInt, class static blocks, private members, `new.target`,
 * array holes, a `/` inside a regexp class), and what throws on Espruino but not in V8: calling a
 * function before its declaration (no hoisting), reading `Array.prototype.x`, an inherited
 * static, setting an array's length, `super.m()` in a class that is subclassed again.
 */
export const REFUSED_CONSTRUCTS: ReadonlySet<string> = new Set([
  "syntax",
  "destructuring",
  "spread",
  "default-param",
  "optional-chaining",
  "exponent",
  "logical-assign",
  "async",
  "generator",
  "label",
  "computed-key",
  "tagged-template",
  "bigint",
  "static-block",
  "private-member",
  "meta-property",
  "array-hole",
  "regexp-class-slash",
  "call-before-declaration",
  "prototype-read",
  "inherited-static",
  "array-length-set",
  "super-method-in-extended-class",
]);

export interface GateResult {
  /** Findings that stop the chunk from running (empty: it runs). */
  readonly refused: GateViolation[];
  /** Findings reported but not fatal. */
  readonly warnings: GateViolation[];
}

/** Checks `code` under `policy`. */
export function gate(code: string, file: string, policy: GatePolicy): GateResult {
  if (policy === "off") return { refused: [], warnings: [] };
  const all = checkEspruinoSubset(code, file);
  if (policy === "all") return { refused: all, warnings: [] };
  return {
    refused: all.filter((v) => REFUSED_CONSTRUCTS.has(v.construct)),
    warnings: all.filter((v) => !REFUSED_CONSTRUCTS.has(v.construct)),
  };
}
