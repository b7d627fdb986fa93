/**
 * The Espruino-subset gate's type-aware rule, over the TypeScript SOURCES of firmware/ and
 * shared/ (the syntax gate, scripts/espruino-gate.ts, reads the emitted JavaScript and cannot see
 * types).
 *
 * "object-compare": on real Espruino 2v29 `===`, `!==`, `==` and `!=` between two typed arrays or
 * ArrayBuffers compare their CONTENTS as text (`new Uint8Array(4) === new Uint8Array(4)` is true;
 * about 1.1-1.5 ms for a 1,472-byte buffer on the Linux build), and so do `==`/`!=` between a
 * typed array and a string, number or array. Plain objects and class instances compare by
 * identity, but TypeScript's types are structural: a value typed as an interface, a class or an
 * object literal type may hold a typed array. So the rule flags a comparison when either
 * operand's static type, with null and undefined removed, contains an object type (typed arrays,
 * ArrayBuffer, DataView, class instances, interfaces, object literal types, arrays, tuples,
 * functions, `object`; a type parameter by its constraint), unless:
 * - the other operand is the literal `null` or `undefined` (or `void 0`), or its type holds only
 *   null/undefined: Espruino answers those by type at once, correctly (measured: `u8 ===
 *   undefined` is false in about 4 us);
 * - the operator is strict (`===`, `!==`) and the other operand's type holds no object type and
 *   is not `any`/`unknown` (a number, string, boolean, enum, literal union): Espruino's strict
 *   equality compares the value kinds first, so a typed array against a primitive is false at
 *   once. Loose `==`/`!=` against a primitive is still flagged: Espruino then compares text
 *   (`new Uint8Array([5]) == 5` is true there).
 * A `case` clause compares with `===` against its `switch` expression (content-compared on
 * Espruino too), so case clauses are checked the same way.
 *
 * CLI: `npx tsx scripts/espruino-gate-types.ts` checks every .ts file of firmware/ and shared/
 * (tests excluded) with the firmware's compiler settings (shared/tsconfig.json), prints one
 * violation per line and exits 1 if there is any.
 */
import { readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { formatViolation, type GateViolation } from "./espruino-gate.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The construct id of the rule. */
export const OBJECT_COMPARE = "object-compare";

const EQUALITY_OPERATORS: ReadonlySet<ts.SyntaxKind> = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

const STRICT_OPERATORS: ReadonlySet<ts.SyntaxKind> = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
]);

/** What a type holds, for the rule (null and undefined are left out). */
interface TypeKinds {
  /** An object type (see the file comment). */
  object: boolean;
  /** A primitive (number, string, boolean, enum, literal, bigint, symbol). */
  primitive: boolean;
  /** `any`, `unknown`, or an unconstrained type parameter: could be anything. */
  unknown: boolean;
}

const NULLISH = ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void | ts.TypeFlags.Never;
const PRIMITIVE =
  ts.TypeFlags.StringLike |
  ts.TypeFlags.NumberLike |
  ts.TypeFlags.BooleanLike |
  ts.TypeFlags.BigIntLike |
  ts.TypeFlags.ESSymbolLike |
  ts.TypeFlags.EnumLike;

function kindsOf(checker: ts.TypeChecker, type: ts.Type, depth = 0): TypeKinds {
  const k: TypeKinds = { object: false, primitive: false, unknown: false };
  if (depth > 8) {
    k.unknown = true;
    return k;
  }
  const add = (o: TypeKinds): void => {
    k.object ||= o.object;
    k.primitive ||= o.primitive;
    k.unknown ||= o.unknown;
  };
  const f = type.flags;
  if (f & NULLISH) return k;
  if (type.isUnion()) {
    for (const t of type.types) add(kindsOf(checker, t, depth + 1));
    return k;
  }
  if (type.isIntersection()) {
    // A branded primitive (`number & { __brand: "x" }`) is a primitive at run time.
    const parts = type.types.map((t) => kindsOf(checker, t, depth + 1));
    if (parts.some((p) => p.primitive)) k.primitive = true;
    else for (const p of parts) add(p);
    return k;
  }
  if (f & PRIMITIVE) {
    k.primitive = true;
    return k;
  }
  if (f & (ts.TypeFlags.Object | ts.TypeFlags.NonPrimitive)) {
    k.object = true;
    return k;
  }
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
    k.unknown = true;
    return k;
  }
  if (f & ts.TypeFlags.Instantiable) {
    const c = checker.getBaseConstraintOfType(type);
    if (c === undefined || c === type || c.flags & ts.TypeFlags.Unknown) {
      k.unknown = true;
      return k;
    }
    return kindsOf(checker, c, depth + 1);
  }
  k.unknown = true;
  return k;
}

/** `null`, `undefined` or `void <expr>`, written as such. */
function isNullishLiteral(e: ts.Expression): boolean {
  let x = e;
  while (ts.isParenthesizedExpression(x)) x = x.expression;
  return (
    x.kind === ts.SyntaxKind.NullKeyword ||
    (ts.isIdentifier(x) && x.text === "undefined") ||
    ts.isVoidExpression(x)
  );
}

function isEmpty(k: TypeKinds): boolean {
  return !k.object && !k.primitive && !k.unknown;
}

/** Why `left op right` is flagged, or undefined when it is safe on Espruino. */
function verdict(
  checker: ts.TypeChecker,
  left: ts.Expression,
  right: ts.Expression,
  strict: boolean,
): string | undefined {
  if (isNullishLiteral(left) || isNullishLiteral(right)) return undefined;
  const lt = checker.getTypeAtLocation(left);
  const rt = checker.getTypeAtLocation(right);
  const l = kindsOf(checker, lt);
  const r = kindsOf(checker, rt);
  if (isEmpty(l) || isEmpty(r)) return undefined;
  if (!l.object && !r.object) return undefined;
  if (strict && (!l.object || !r.object)) {
    const other = l.object ? r : l;
    if (!other.unknown) return undefined;
  }
  const objectSide = l.object ? left : right;
  return checker.typeToString(checker.getTypeAtLocation(objectSide));
}

function message(typeText: string, op: string): string {
  return (
    `'${op}' on object type '${typeText}': Espruino compares two typed arrays or ArrayBuffers by ` +
    "their contents as text (slow: about 1.5 ms for 1,472 bytes; `==` against a string, number or " +
    "array too), and a value of an object type may hold one; compare an explicit flag, index or key " +
    "instead (a comparison with null or undefined is fast and exact)"
  );
}

/**
 * Reports every `===`, `!==`, `==`, `!=` (and `case` clause) in the source files of `program`
 * that `include` accepts (by absolute file name), where an operand has an object type (see the
 * file comment). `fileLabel` turns a file name into the name reported (defaults to the path
 * relative to the current directory).
 */
export function checkObjectComparisons(
  program: ts.Program,
  include: (fileName: string) => boolean = () => true,
  fileLabel: (fileName: string) => string = (f) => relative(process.cwd(), f),
): GateViolation[] {
  const checker = program.getTypeChecker();
  const out: GateViolation[] = [];
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !include(sf.fileName)) continue;
    const report = (node: ts.Node, typeText: string, op: string): void => {
      const pos = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      out.push({
        file: fileLabel(sf.fileName),
        line: pos.line + 1,
        column: pos.character + 1,
        construct: OBJECT_COMPARE,
        message: message(typeText, op),
      });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isBinaryExpression(node) && EQUALITY_OPERATORS.has(node.operatorToken.kind)) {
        const strict = STRICT_OPERATORS.has(node.operatorToken.kind);
        const why = verdict(checker, node.left, node.right, strict);
        if (why !== undefined) report(node, why, node.operatorToken.getText(sf));
      } else if (ts.isSwitchStatement(node)) {
        for (const clause of node.caseBlock.clauses) {
          if (!ts.isCaseClause(clause)) continue;
          const why = verdict(checker, node.expression, clause.expression, true);
          if (why !== undefined) report(clause, why, "case");
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/** The text of a flagged comparison (for reports): the source between its line/column and the end. */
export function comparisonText(program: ts.Program, v: GateViolation, root: string = ROOT): string {
  const sf = program.getSourceFile(resolve(root, v.file));
  if (sf === undefined) return "";
  const pos = sf.getPositionOfLineAndCharacter(v.line - 1, v.column - 1);
  let found = "";
  const visit = (node: ts.Node): void => {
    if (found !== "") return;
    const compare = ts.isBinaryExpression(node) && EQUALITY_OPERATORS.has(node.operatorToken.kind);
    if (node.getStart(sf) === pos && (compare || ts.isCaseClause(node))) {
      found = ts.isCaseClause(node) ? `case ${node.expression.getText(sf)}` : node.getText(sf);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found.replace(/\s+/g, " ");
}

/** The firmware's compiler settings (shared/tsconfig.json under `root`). */
export function firmwareCompilerOptions(root: string = ROOT): ts.CompilerOptions {
  const path = join(root, "shared", "tsconfig.json");
  const read = ts.readConfigFile(path, ts.sys.readFile);
  if (read.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(path));
  return { ...parsed.options, noEmit: true };
}

/** Every .ts source of firmware/ and shared/ under `root` (tests and declarations excluded). */
export function firmwareSourceFiles(root: string = ROOT): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith(".d.ts")) {
        files.push(p);
      }
    }
  };
  walk(join(root, "firmware"));
  walk(join(root, "shared"));
  return files.sort();
}

/** A program over the firmware's and shared/'s sources with the firmware's compiler settings. */
export function firmwareProgram(root: string = ROOT): ts.Program {
  return ts.createProgram(firmwareSourceFiles(root), firmwareCompilerOptions(root));
}

/** Runs the rule over firmware/ and shared/ under `root`; file names are reported relative to it. */
export function checkFirmwareComparisons(root: string = ROOT, program?: ts.Program): GateViolation[] {
  const p = program ?? firmwareProgram(root);
  const dirs = [join(root, "firmware"), join(root, "shared")].map((d) => d.replace(/\\/g, "/") + "/");
  return checkObjectComparisons(
    p,
    (f) => dirs.some((d) => f.replace(/\\/g, "/").startsWith(d)),
    (f) => relative(root, f).replace(/\\/g, "/"),
  );
}

function main(): number {
  const program = firmwareProgram(ROOT);
  const violations = checkFirmwareComparisons(ROOT, program);
  for (const v of violations) {
    console.log(`${formatViolation(v)}\n    ${comparisonText(program, v)}`);
  }
  return violations.length > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
