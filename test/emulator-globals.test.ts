/**
 * The emulator's fidelity suite: the snippets measured on real Espruino 2v29
 * (test/vectors/espruino-snippets.json) run in the emulator. Everything Espruino cannot parse or
 * lacks must fail here too (an error, or output other than Node's); every "same" and "semantics"
 * snippet prints what Espruino printed, or is named in KNOWN_DIFFERENCES with the reason.
 * Plus the Espruino globals the emulator provides (process.env, timers, E, require...).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REMOVED_GLOBALS, REMOVED_MEMBERS, REMOVED_STATICS } from "../host/emulator/intrinsics.js";
import { EMULATED_MODULES } from "../host/emulator/profile.js";
import { runScript } from "../host/emulator/script.js";

interface Snippet {
  name: string;
  code: string;
  espruino: string;
  node: string;
  category: "same" | "syntax" | "missing-global" | "missing-member" | "semantics";
}

const vectors = JSON.parse(
  readFileSync(new URL("./vectors/espruino-snippets.json", import.meta.url), "utf8"),
) as {
  meta: { prelude: string };
  cases: Snippet[];
};

/**
 * An unhandled rejection would reach the test runner's own handler (the emulator routes them to
 * the board's console only in `syfala emulate`), so this one "semantics" snippet is not run.
 */
const NOT_RUN = new Set(["promise_unhandled"]);

/**
 * Every 'same' and 'semantics' snippet whose output under the emulator is NOT what Espruino
 * printed, with the reason. The test fails when one of these starts matching (remove it here) or
 * when a snippet not listed differs.
 */
const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {
  closures_in_loop_let: "V8 gives each iteration of a `let` loop its own binding (Espruino shares one)",
  let_for_closure_timer: "V8 gives each iteration of a `let` loop its own binding (Espruino shares one)",
  arrow_arguments: "V8's arrow functions see the enclosing `arguments` (Espruino's: undefined)",
  class_extends_error: "`class X extends Error` works in V8 (Espruino: \"Calling 'super' outside of class\")",
  error_subclass_es5: "V8's Error.prototype.toString uses the instance's name (Espruino: [object Object])",
  number_precision: "numbers print with V8's 17 digits, not Espruino's 12; 1e21 and 2^63 literals",
  number_parseFloat: "V8 trims whitespace in +'  12 ' (Espruino: NaN)",
  big_u32_arith: "numbers above 2^53 print as V8 prints them",
  float32array: "numbers print with V8's 17 digits, not Espruino's 12",
  dataview_f64_le: "numbers print with V8's 17 digits, not Espruino's 12",
  dataview_f64_be: "Espruino's big-endian setFloat64 writes a wrong last byte; V8's is right",
  dataview_oob: "V8's DataView checks bounds (Espruino reads past the view)",
  function_name_length: "V8's functions have a name",
  object_key_order: "V8 lists integer-like keys first",
  number_toString_float: "numbers print with V8's 17 digits, not Espruino's 12",
  getter_setter_defineProperties: "V8's Object.keys leaves out non-enumerable properties",
  class_static_assign: "the loader's gate refuses a read of an inherited static (Espruino prints undefined)",
  class_hasOwn_methods_enum: "V8's class methods are not enumerable",
  for_of_object_throws: "V8's for-of over a plain object throws",
  dataview_u64_halves: "numbers above 2^53 print as V8 prints them",
  json_stringify_float: "1e21 prints as V8 prints it (Espruino: 10e+20)",
  for_in_class_instance: "V8's for-in leaves out class methods",
  instanceof_error_builtin: "V8's ReferenceError message text (Espruino quotes the name)",
};

async function run(code: string): Promise<{ text: string; failed: boolean }> {
  const r = await runScript(`${vectors.meta.prelude}\n${code}`, { maxMs: 1000 });
  const lines = r.output.filter((l) => l.startsWith("OUT"));
  return {
    text: lines.join("\n"),
    failed: r.error !== undefined || r.output.some((l) => l.startsWith("Uncaught")),
  };
}

describe("Espruino snippets under the emulator", () => {
  for (const category of ["syntax", "missing-global", "missing-member"] as const) {
    const cases = vectors.cases.filter((c) => c.category === category);
    it(`every '${category}' snippet fails (${cases.length})`, async () => {
      const nodeLike: string[] = [];
      for (const c of cases) {
        const r = await run(c.code);
        if (!r.failed && r.text === c.node) nodeLike.push(c.name);
      }
      expect(nodeLike).toEqual([]);
    });
  }

  it("'syntax' snippets are refused by the loader's gate", async () => {
    for (const c of vectors.cases.filter((x) => x.category === "syntax")) {
      const r = await runScript(`${vectors.meta.prelude}\n${c.code}`);
      expect(r.refused, c.name).toBe(true);
      expect(r.output, c.name).toEqual([]);
    }
  });

  for (const category of ["same", "semantics"] as const) {
    const cases = vectors.cases.filter((c) => c.category === category && !NOT_RUN.has(c.name));
    it(`'${category}' snippets print Espruino's output, but for the known differences (${cases.length})`, async () => {
      const unlisted: string[] = [];
      const nowMatching: string[] = [];
      let matched = 0;
      for (const c of cases) {
        const r = await run(c.code);
        const same = r.text === c.espruino;
        if (same) matched++;
        const known = Object.hasOwn(KNOWN_DIFFERENCES, c.name);
        if (!same && !known)
          unlisted.push(`${c.name}: got ${JSON.stringify(r.text)}, Espruino ${JSON.stringify(c.espruino)}`);
        if (same && known) nowMatching.push(c.name);
      }
      console.log(`emulator: ${matched} of ${cases.length} '${category}' snippets print Espruino's output`);
      expect({ unlisted, nowMatching }).toEqual({ unlisted: [], nowMatching: [] });
    });
  }

  it("every known difference names a 'same' or 'semantics' snippet", () => {
    const names = new Set(
      vectors.cases.filter((c) => c.category === "same" || c.category === "semantics").map((c) => c.name),
    );
    expect(Object.keys(KNOWN_DIFFERENCES).filter((n) => !names.has(n))).toEqual([]);
    expect([...NOT_RUN].filter((n) => !names.has(n))).toEqual([]);
  });
});

describe("the emulated context", () => {
  const out = async (code: string): Promise<string[]> => (await runScript(code)).output;

  it("lacks the removed globals, statics and members", async () => {
    const checks: string[] = REMOVED_GLOBALS.map((g) => `typeof ${g}`);
    for (const [owner, names] of Object.entries(REMOVED_STATICS)) {
      for (const n of names) checks.push(`typeof ${owner}.${n}`);
    }
    const instance: Record<string, string> = {
      Array: "[]",
      TypedArray: "new Uint8Array(1)",
      String: '""',
      Promise: "Promise.resolve()",
      ArrayBuffer: "new ArrayBuffer(1)",
      DataView: "new DataView(new ArrayBuffer(8))",
    };
    for (const [owner, names] of Object.entries(REMOVED_MEMBERS)) {
      for (const n of names) checks.push(`typeof (${instance[owner]}).${n}`);
    }
    checks.push("typeof Uint8Array.BYTES_PER_ELEMENT", "typeof new Int16Array(1).BYTES_PER_ELEMENT");
    const lines = await out(`print([${checks.join(",")}].join(","))`);
    expect(lines).toEqual([checks.map(() => "undefined").join(",")]);
  });

  it("keeps what Espruino has", async () => {
    const lines = await out(
      "print(typeof Number.MAX_VALUE, typeof Object.fromEntries, typeof [].includes, typeof ''.padStart," +
        " new Uint8Array([1,2,3]).subarray(1).length, new Number(5) instanceof Number, Number('0x10')," +
        " (5).constructor === Number, typeof globalThis, typeof global, new Uint8Array(2) instanceof Uint8Array)",
    );
    expect(lines).toEqual(["number function function function 2 true 16 true object object true"]);
  });

  it("has Espruino's globals and none of Node's", async () => {
    const lines = await out(
      "print(typeof E, typeof process.memory, typeof print, typeof require, typeof Buffer, typeof module," +
        " typeof setImmediate, typeof process.exit, typeof __dirname, typeof queueMicrotask)",
    );
    expect(lines).toEqual([
      "object function function function undefined undefined undefined undefined undefined undefined",
    ]);
  });

  it("the upload tool's board file lists the same built-in modules as process.env.MODULES", () => {
    const board = JSON.parse(
      readFileSync(new URL("../host/emulator/EMULATOR.json", import.meta.url), "utf8"),
    );
    expect(board.MODULES).toBe(EMULATED_MODULES.join(","));
    expect(board.info.builtin_modules).toEqual(EMULATED_MODULES);
    expect(board.info.binary_version).toBe("2v29");
  });

  it("process.env describes the emulator", async () => {
    const lines = await out(
      "print(process.env.BOARD, process.env.VERSION, process.env.MODULES, process.version)",
    );
    expect(lines).toEqual([`EMULATOR 2v29 ${EMULATED_MODULES.join(",")} 2v29`]);
  });

  it("process.memory() counts blocks out of 3000 (a Uint8Array(1400) is about 103)", async () => {
    const lines = await out(
      "var m = 0, u0 = 0, keep = 0; m = process.memory(); u0 = m.usage; keep = new Uint8Array(1400);" +
        " print(m.total, m.free + m.usage === m.total, process.memory().usage - u0 - E.getSizeOf(m))",
    );
    const [total, sum, delta] = (lines[0] ?? "").split(" ");
    expect(total).toBe("3000");
    expect(sum).toBe("true");
    expect(Number(delta)).toBeGreaterThanOrEqual(100);
    expect(Number(delta)).toBeLessThanOrEqual(110);
  });

  it("E.getSizeOf on the linux profile gives what Espruino 2v29's Linux build measured", async () => {
    // Measured with E.getSizeOf on the Linux build (27-byte blocks), code run from a file (RAM),
    // pretokenised: strings, a typed array, functions by parameters and (tokenised) body length.
    const lengths = [20, 60, 200, 800, 3200];
    const fns = lengths
      .map((n) => `function f${n}(a){return a${"+a".repeat(Math.max(0, Math.floor((n - 8) / 2)))}}`)
      .join("");
    const r = await runScript(
      `E.setFlags({pretokenise:1});${fns}function h(){} function h2(a){return a}` +
        "class C{constructor(x){this.x=x}m1(a){return a+a+a+a+a+a+a+a+a+a+a+a+a+a+a+a}m2(){return 1}}" +
        "print(E.getSizeOf('xxxxxxxxxxxxxxxxxxxx'),E.getSizeOf('xxxxxxxxxxxxxxxxxxxxx'),E.getSizeOf(new Uint8Array(1400))," +
        `E.getSizeOf(h),E.getSizeOf(h2),E.getSizeOf(C.prototype.m1),E.getSizeOf(C.prototype.m2),[${lengths.map((n) => `E.getSizeOf(f${n})`).join(",")}].join(','))`,
      { profile: "linux" },
    );
    expect(r.error).toBeUndefined();
    // Real (the same program as a file on the Linux build): 1 2 55 1 4 5 3 4,6,12,34,123.
    expect(r.output).toEqual(["1 2 55 1 4 5 3 4,6,12,34,123"]);
  });

  it("timers return numbers; clearTimeout(undefined) throws; clearTimeout() clears all", async () => {
    const lines = await out(
      "var a = setTimeout(function(){ print('a') }, 5); var b = setInterval(function(){ print('b') }, 5);" +
        "print(typeof a, typeof b, a !== b);" +
        "try { clearTimeout(undefined); } catch (e) { print('threw', e.message); }" +
        "clearTimeout(); setTimeout(function(){ print('late', 1, 2) }, 1);",
    );
    expect(lines).toEqual([
      "number number true",
      "threw clearTimeout(undefined) not allowed. Use clearTimeout() instead.",
      "late 1 2",
    ]);
  });

  it("E converts between binary strings and bytes", async () => {
    const lines = await out(
      "var s = E.toString(new Uint8Array([0, 128, 255])); var u = E.toUint8Array(s);" +
        "var b = new Uint8Array(E.toArrayBuffer('\\x01\\xff'));" +
        "print(s.length, s.charCodeAt(1), s.charCodeAt(2), u.length, u[2], u instanceof Uint8Array, b[0], b[1]," +
        " E.toString([65, 66], 'C', 68), typeof E.getErrorFlags(), E.getErrorFlags().length)",
    );
    expect(lines).toEqual(["3 128 255 3 255 true 1 255 ABCD object 0"]);
  });

  it("errors: no name, TypeError is not an Error, InternalError exists", async () => {
    const lines = await out(
      "try { null.x } catch (e) { print(e instanceof TypeError, e instanceof Error, e.name, String(e).indexOf('TypeError:') === 0) }" +
        " print(new Error('m').name, String(new Error('m')), typeof InternalError)",
    );
    expect(lines).toEqual(["true false undefined true", "undefined Error: m function"]);
  });

  it("require: emulated modules only; Modules.addCached works", async () => {
    const lines = await out(
      "try { require('fs') } catch (e) { print(e.message) }" +
        " Modules.addCached('m', function () { exports.x = 42; }); print(require('m').x, typeof require('Storage').readJSON)",
    );
    expect(lines).toEqual(['Module "fs" not found', "42 function"]);
  });

  it("objects have Espruino's event methods", async () => {
    const lines = await out(
      "var o = {}; var r = o.on('x', function (a, b) { print('x', a, b, this === o) }); o.emit('x', 1, 2);" +
        " print(r, Object.keys(o).length); o.removeAllListeners('x'); o.emit('x', 3)",
    );
    expect(lines).toEqual(["x 1 2 true", "undefined 0"]);
  });

  it("an exception in a callback is reported and the loop goes on; process.on('uncaughtException') catches", async () => {
    const reported = await out(
      "setTimeout(function(){ throw new Error('boom') }, 1); setTimeout(function(){ print('after') }, 5)",
    );
    expect(reported[0]).toBe("Uncaught Error: boom");
    expect(reported).toContain("after");
    const caught = await out(
      "process.on('uncaughtException', function (e) { print('caught', e.message) }); setTimeout(function(){ throw new Error('x') }, 1)",
    );
    expect(caught).toEqual(["caught x"]);
  });

  it("the gate refuses unparseable syntax and what would throw on Espruino, with the build's checker", async () => {
    for (const code of [
      "var {a} = {a: 1};",
      "f(); function f() {}",
      "var x = Array.prototype.slice;",
      "var o = a?.b;",
    ]) {
      const r = await runScript(code);
      expect(r.refused, code).toBe(true);
      expect(r.error, code).toMatch(/^Uncaught SyntaxError: /);
    }
    const warned = await runScript("var m = new Map();");
    expect(warned.refused).toBe(false);
    expect(warned.error).toMatch(/Map/);
  });
});
