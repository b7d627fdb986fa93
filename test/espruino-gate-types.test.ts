/**
 * The gate's type-aware rule (scripts/espruino-gate-types.ts): `===`, `!==`, `==`, `!=` and
 * `case` on object types, per case, on small in-memory TypeScript files compiled with the
 * firmware's compiler settings; then the rule over the real firmware/ and shared/ sources.
 */
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { formatViolation } from "../scripts/espruino-gate.js";
import {
  checkFirmwareComparisons,
  checkObjectComparisons,
  comparisonText,
  firmwareCompilerOptions,
  firmwareProgram,
  OBJECT_COMPARE,
} from "../scripts/espruino-gate-types.js";

const DIR = "/virtual/";
/** The lib files, parsed once for all the cases. */
const libs = new Map<string, ts.SourceFile | undefined>();

/** A program over `files` (name -> source, under /virtual/), with the real lib files. */
function programOf(files: Readonly<Record<string, string>>): ts.Program {
  const options = firmwareCompilerOptions();
  const host = ts.createCompilerHost(options);
  const own = new Map(Object.entries(files).map(([k, v]) => [DIR + k, v]));
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    const text = own.get(name);
    if (text !== undefined) return ts.createSourceFile(name, text, lang, true);
    if (!libs.has(name)) libs.set(name, getSourceFile(name, lang, onError, create));
    return libs.get(name);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => own.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => own.get(name) ?? readFile(name);
  const program = ts.createProgram([...own.keys()], options, host);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  expect(errors, "the case must type-check").toEqual([]);
  return program;
}

/** The flagged comparisons of one file (`prelude` + `code`), as their source text. */
function flagged(code: string): string[] {
  const program = programOf({ "t.ts": `${PRELUDE}\n${code}\n` });
  const v = checkObjectComparisons(program, (f) => f.startsWith(DIR));
  return v.map((x) => comparisonText(program, { ...x, file: DIR + "t.ts" }, "/"));
}

/** Declarations the cases use. */
const PRELUDE = `
declare const u8: Uint8Array; declare const u8b: Uint8Array; declare const i16: Int16Array;
declare const ab: ArrayBuffer; declare const dv: DataView;
class Foo { n = 1; }
interface Sock { send(s: string): void; }
declare const foo: Foo; declare const foo2: Foo; declare const maybeFoo: Foo | undefined;
declare const sock: Sock; declare const sock2: Sock;
declare const n: number; declare const s: string; declare const b: boolean;
declare const kind: "audio" | "control"; enum Mode { A, B } declare const mode: Mode;
declare const maybeU8: Uint8Array | undefined; declare const nothing: undefined; declare const nul: null;
declare const u: unknown; declare const arr: number[]; declare const fn: () => void;
declare const lit: { a: number }; declare const brand: number & { readonly __brand: "ms" };
declare const strOrU8: string | Uint8Array; declare const numOrU8: number | Uint8Array;
declare const view: Uint8Array | Int16Array;
`;

interface Case {
  what: string;
  code: string;
  /** The comparisons the rule flags (source text), in order. */
  flags: string[];
}

const FLAGGED: Case[] = [
  { what: "typed array vs typed array", code: "if (u8 === u8b) {}", flags: ["u8 === u8b"] },
  { what: "typed arrays of two kinds, !==", code: "if (view !== i16) {}", flags: ["view !== i16"] },
  {
    what: "ArrayBuffer vs ArrayBuffer (a.buffer !== b)",
    code: "if (u8.buffer !== ab) {}",
    flags: ["u8.buffer !== ab"],
  },
  {
    what: "DataView vs DataView",
    code: "const same = dv === new DataView(ab);",
    flags: ["dv === new DataView(ab)"],
  },
  { what: "class instance vs class instance", code: "if (foo === foo2) {}", flags: ["foo === foo2"] },
  { what: "interface-typed objects", code: "if (sock !== sock2) {}", flags: ["sock !== sock2"] },
  {
    what: "union Foo | undefined vs Foo",
    code: "if (maybeFoo === foo) {}",
    flags: ["maybeFoo === foo"],
  },
  {
    what: "Uint8Array | undefined vs Uint8Array",
    code: "if (maybeU8 !== u8) {}",
    flags: ["maybeU8 !== u8"],
  },
  { what: "an object vs unknown", code: "if (u === foo) {}", flags: ["u === foo"] },
  { what: "arrays", code: "if (arr === arr) {}", flags: ["arr === arr"] },
  { what: "functions", code: "if (fn !== fn) {}", flags: ["fn !== fn"] },
  { what: "object literal types", code: "if (lit === lit) {}", flags: ["lit === lit"] },
  {
    what: "loose == and != on objects",
    code: "if (u8 == u8b || foo != foo2) {}",
    flags: ["u8 == u8b", "foo != foo2"],
  },
  {
    what: "loose == of a typed array and a string or number (text compared on Espruino)",
    code: 'if (strOrU8 == "1,2" || numOrU8 != n) {}',
    flags: ['strOrU8 == "1,2"', "numOrU8 != n"],
  },
  {
    what: "a type parameter constrained to an object type",
    code: "function same<T extends Uint8Array>(a: T, c: T): boolean { return a === c; }",
    flags: ["a === c"],
  },
  {
    what: "a case clause on typed arrays",
    code: "switch (u8) { case u8b: break; default: break; }",
    flags: ["case u8b"],
  },
  {
    what: "nested: each comparison on its own",
    code: "const r = (u8 === u8b) === (foo === foo2);",
    flags: ["u8 === u8b", "foo === foo2"],
  },
];

const ALLOWED: Case[] = [
  { what: "x === undefined, x !== null", code: "if (u8 === undefined || foo !== null) {}", flags: [] },
  {
    what: "undefined and null on the left",
    code: "if (undefined === u8 || null !== maybeFoo) {}",
    flags: [],
  },
  {
    what: "void 0, and loose == null",
    code: "if (u8 === void 0 || maybeU8 == null || foo != undefined) {}",
    flags: [],
  },
  {
    what: "an operand whose type is only null or undefined",
    code: "if (u8 === nothing || foo !== nul) {}",
    flags: [],
  },
  { what: "numbers", code: "if (n === 1 || n !== u8.length || n == 2) {}", flags: [] },
  { what: "strings", code: 'if (s === "a" || s !== s || s == "b") {}', flags: [] },
  { what: "booleans", code: "if (b === true || b !== b) {}", flags: [] },
  { what: "string-literal unions", code: 'if (kind === "audio" || kind !== kind) {}', flags: [] },
  { what: "enums", code: "if (mode === Mode.A || mode !== mode) {}", flags: [] },
  { what: "a branded number", code: "if (brand === brand) {}", flags: [] },
  { what: "typeof", code: 'if (typeof u8 === "object" && typeof foo !== "undefined") {}', flags: [] },
  {
    what: "strict === of an object type against a primitive (false at once on Espruino)",
    code: 'if (strOrU8 === "x" || numOrU8 !== n) {}',
    flags: [],
  },
  {
    what: "a property of an object (a number)",
    code: "if (u8.byteLength === ab.byteLength && foo.n !== foo2.n) {}",
    flags: [],
  },
  {
    what: "an unconstrained type parameter",
    code: "function same<T>(a: T, c: T): boolean { return a === c; }",
    flags: [],
  },
  {
    what: "a case clause on strings",
    code: 'switch (kind) { case "audio": break; default: break; }',
    flags: [],
  },
];

describe("espruino-gate-types: flags object comparisons", () => {
  for (const c of FLAGGED) {
    it(c.what, () => {
      expect(flagged(c.code)).toEqual(c.flags);
    });
  }
});

describe("espruino-gate-types: allows what Espruino compares fast and exactly", () => {
  for (const c of ALLOWED) {
    it(c.what, () => {
      expect(flagged(c.code)).toEqual(c.flags);
    });
  }
});

describe("espruino-gate-types: reporting", () => {
  it("gives file:line:col, construct object-compare and a message saying what to write instead", () => {
    const program = programOf({
      "a.ts": "declare const x: Uint8Array, y: Uint8Array;\nconst z =  x !== y;\n",
    });
    const v = checkObjectComparisons(
      program,
      (f) => f.startsWith(DIR),
      (f) => f.slice(DIR.length),
    );
    expect(v.map(formatViolation)).toHaveLength(1);
    const first = v[0];
    expect(first).toMatchObject({ file: "a.ts", line: 2, column: 12, construct: OBJECT_COMPARE });
    expect(first?.message).toMatch(/'!==' on object type 'Uint8Array/);
    expect(first?.message).toMatch(/explicit flag, index or key/);
  });

  it("checks only the files `include` accepts", () => {
    const program = programOf({
      "a.ts": "declare const x: Uint8Array, y: Uint8Array;\nconst z = x !== y;\n",
    });
    expect(checkObjectComparisons(program, () => false)).toEqual([]);
  });
});

describe("espruino-gate-types: the real firmware/ and shared/ sources", () => {
  it("have no object comparison (the build fails on one)", () => {
    const program = firmwareProgram();
    const sites = checkFirmwareComparisons(undefined, program).map(
      (v) => `${v.file}:${v.line}: ${comparisonText(program, v)}`,
    );
    expect(sites).toEqual([]);
  });
});
