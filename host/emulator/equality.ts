/**
 * Espruino's equality operators in the emulator. V8's `===` cannot be changed, so the loader
 * rewrites `a === b`, `a !== b`, `a == b` and `a != b` in the code it loads into calls of four
 * helpers of the realm that compare as Espruino 2v29 does (measured on the real interpreter and
 * read in its jsvMathsOp / jsvMathsOpTypeEqual):
 * - `===`: numbers with numbers, otherwise values of the same JsVar kind, then `==`. Typed arrays
 *   and ArrayBuffers are one kind, compared by their TEXT: `new Uint8Array(4) === new
 *   Uint8Array(4)` and `new ArrayBuffer(2) === new Uint8Array(2)` are true, `new
 *   Uint8Array([255]) === new Int8Array([-1])` is false ("255" against "-1"). An ArrayBuffer's
 *   text is its bytes ("1,2"). Everything else gives what V8 gives.
 * - `==`: a typed array or ArrayBuffer against anything but an object or function (which are
 *   compared by identity) or null/undefined (false) is compared as text, the other side's text
 *   being String(x) (so `new Uint8Array([5]) == 5`, `new Uint8Array([1,2]) == [1,2]` and `new
 *   ArrayBuffer(2) == "0,0"` are true, `new Uint8Array([1]) == true` and `new Uint8Array(0) == 0`
 *   false); an object's valueOf is called first, as Espruino does. Otherwise V8's `==`.
 * To keep a function's text (which the memory estimate counts) about as long as the original,
 * each helper's name is one character and the operator token becomes the comma:
 * `a === b` -> `ǀ(a, b)`, `a===b` -> `ǀ(a,b)` (one character longer).
 * Comparisons that cannot involve a typed array on both sides are left alone (a literal, a
 * template, a unary, update or binary expression, an object/array/function literal on one side;
 * for `==`, `null`, `undefined`, `void x` or `typeof x`): they are most of a program's
 * comparisons and V8 already answers them as Espruino does.
 * `Array.prototype.indexOf`/`includes` with a typed array argument use the same `===` (as on
 * Espruino), and an ArrayBuffer's `toString` gives its bytes ("1,2"), a DataView's
 * "[object Object]". Not covered: `switch`/`case` (content-compared on Espruino too), code
 * run through `eval`, `new Function` or a string timer; number text beyond 12 digits (Espruino
 * prints fewer, so two Float64Arrays that differ only there are equal on Espruino, not here).
 */
import { type Node, parse, type Token } from "acorn";

/** The helpers' global names (one character each; not used by any program). */
export const EQUALITY_HELPERS = {
  "===": "\u01C0",
  "!==": "\u01C1",
  "==": "\u01C2",
  "!=": "\u01C3",
} as const;

type EqualityOperator = keyof typeof EQUALITY_HELPERS;

/**
 * The helpers' source: a function expression run in the context BEFORE the intrinsics prelude
 * (it captures the original typed-array and ArrayBuffer prototypes); it returns the four helpers
 * by operator.
 */
export function equalityHelpersSource(): string {
  return `(function () {
  "use strict";
  var TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  var tagOf = Object.getOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag).get;
  var join = TypedArrayProto.join;
  var objectToString = Object.prototype.toString;
  var isArray = Array.isArray;
  var U8 = Uint8Array;
  /* 1: a typed array, 2: an ArrayBuffer, 0: anything else (v is a non-null object). */
  function kind(v) {
    if (tagOf.call(v) !== undefined) return 1;
    return objectToString.call(v) === "[object ArrayBuffer]" ? 2 : 0;
  }
  function text(v, k) { return join.call(k === 1 ? v : new U8(v), ","); }
  function strictEq(a, b) {
    if (a === b) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    var ka = kind(a);
    if (ka === 0) return false;
    var kb = kind(b);
    return kb !== 0 && text(a, ka) === text(b, kb);
  }
  function looseEq(a, b) {
    var ka = typeof a === "object" && a !== null ? kind(a) : 0;
    var kb = typeof b === "object" && b !== null ? kind(b) : 0;
    if (ka === 0 && kb === 0) return a == b;
    if (ka !== 0 && kb !== 0) return text(a, ka) === text(b, kb);
    var t = ka !== 0 ? text(a, ka) : text(b, kb);
    var x = ka !== 0 ? b : a;
    if (x === undefined || x === null || typeof x === "function") return false;
    if (typeof x === "object" && !isArray(x)) {
      x = typeof x.valueOf === "function" ? x.valueOf() : x;
      if ((typeof x === "object" && x !== null) || typeof x === "function") return false;
    }
    return t === String(x);
  }
  /* Array indexOf/includes compare with Espruino's === too (only a typed array argument differs). */
  var ArrayProto = Array.prototype, origIndexOf = ArrayProto.indexOf, origIncludes = ArrayProto.includes;
  function typedIndex(arr, x, from) {
    var n = arr.length >>> 0, i = from === undefined ? 0 : Math.floor(Number(from)) || 0;
    if (i < 0) i = Math.max(0, n + i);
    for (; i < n; i++) if (strictEq(arr[i], x)) return i;
    return -1;
  }
  function isTyped(x) { return typeof x === "object" && x !== null && kind(x) !== 0; }
  Object.defineProperty(ArrayProto, "indexOf", { value: function indexOf(x, from) {
    return isTyped(x) ? typedIndex(this, x, from) : origIndexOf.apply(this, arguments);
  }, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(ArrayProto, "includes", { value: function includes(x, from) {
    return isTyped(x) ? typedIndex(this, x, from) >= 0 : origIncludes.apply(this, arguments);
  }, writable: true, configurable: true, enumerable: false });
  /* An ArrayBuffer's text is its bytes ("1,2"); a DataView's is "[object Object]". */
  Object.defineProperty(ArrayBuffer.prototype, "toString", { value: function toString() {
    return join.call(new U8(this), ",");
  }, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(DataView.prototype, "toString", { value: function toString() {
    return "[object Object]";
  }, writable: true, configurable: true, enumerable: false });
  return {
    "===": strictEq,
    "!==": function (a, b) { return !strictEq(a, b); },
    "==": looseEq,
    "!=": function (a, b) { return !looseEq(a, b); }
  };
})`;
}

type AnyNode = Node & Record<string, unknown>;

/** True when `n` cannot be a typed array or ArrayBuffer (a primitive or a fresh non-array literal). */
function notTypedArray(n: AnyNode, loose: boolean): boolean {
  switch (n.type) {
    case "Literal":
      // `==` compares a typed array's text with a string, number or boolean: only null is safe.
      return !loose || n.value === null;
    case "Identifier":
      return n.name === "undefined" || (!loose && (n.name === "NaN" || n.name === "Infinity"));
    case "UnaryExpression":
      return !loose || n.operator === "typeof" || n.operator === "void";
    case "TemplateLiteral":
    case "UpdateExpression":
    case "BinaryExpression":
      return !loose;
    case "ObjectExpression":
      // `==` calls an object's valueOf on Espruino (`u8 == {valueOf: ...}`).
      return !loose;
    case "FunctionExpression":
    case "ArrowFunctionExpression":
    case "ClassExpression":
      return true;
    case "ArrayExpression":
      return !loose;
    default:
      return false;
  }
}

interface Edit {
  readonly at: number;
  /** Characters removed from `at`. */
  readonly remove: number;
  readonly insert: string;
  /** Among edits at one position, lower first: closing ")" (-1), the operator (0), opening calls (outer first). */
  readonly order: number;
}

const IDENT_CHAR = /[\w$\u0080-\uffff]/;

/**
 * `SYFALA_EMULATOR_NATIVE_EQUALITY=1` turns the rewrite off (V8's operators, as before the
 * emulator had it): only to measure what it costs.
 */
const NATIVE_EQUALITY = process.env.SYFALA_EMULATOR_NATIVE_EQUALITY === "1";

/** Rewrites equality operators of `code` (see the file comment); returns `code` unchanged when it does not parse. */
export function rewriteEquality(code: string): string {
  if (NATIVE_EQUALITY || !/[=!]==?/.test(code)) return code;
  const tokens: Token[] = [];
  let program: Node;
  try {
    program = parse(code, { ecmaVersion: "latest", sourceType: "script", onToken: tokens });
  } catch {
    return code;
  }
  const edits: Edit[] = [];
  const visit = (node: AnyNode, depth: number): void => {
    if (node.type === "BinaryExpression") {
      const op = node.operator as string;
      if (op === "===" || op === "!==" || op === "==" || op === "!=") {
        const left = node.left as AnyNode;
        const right = node.right as AnyNode;
        const loose = op.length === 2;
        if (!notTypedArray(left, loose) && !notTypedArray(right, loose)) {
          const opToken = operatorToken(tokens, left.end, right.start, op);
          if (opToken !== undefined) {
            const space = code.charAt(opToken.start - 1);
            const from = space === " " || space === "\t" ? opToken.start - 1 : opToken.start;
            const before = node.start > 0 ? code.charAt(node.start - 1) : "";
            const name = EQUALITY_HELPERS[op as EqualityOperator];
            edits.push({
              at: node.start,
              remove: 0,
              insert: `${IDENT_CHAR.test(before) ? " " : ""}${name}(`,
              order: 1 + depth,
            });
            edits.push({ at: from, remove: opToken.end - from, insert: ",", order: 0 });
            edits.push({ at: node.end, remove: 0, insert: ")", order: -1 });
          }
        }
      }
    }
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) {
        for (const c of v)
          if (c !== null && typeof c === "object" && typeof c.type === "string") visit(c, depth + 1);
      } else if (v !== null && typeof v === "object" && typeof (v as AnyNode).type === "string") {
        visit(v as AnyNode, depth + 1);
      }
    }
  };
  visit(program as AnyNode, 0);
  if (edits.length === 0) return code;
  edits.sort((a, b) => a.at - b.at || a.order - b.order);
  let out = "";
  let pos = 0;
  for (const e of edits) {
    out += code.slice(pos, e.at) + e.insert;
    pos = e.at + e.remove;
  }
  return out + code.slice(pos);
}

/** The operator token between `from` and `to` (binary search in the token list). */
function operatorToken(tokens: readonly Token[], from: number, to: number, op: string): Token | undefined {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((tokens[mid] as Token).start < from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.start >= to) return undefined;
    if ((t as Token & { value?: unknown }).value === op) return t;
  }
  return undefined;
}

/** Recently rewritten chunks (the same firmware boots on many boards), by source text. */
const cache = new Map<string, string>();
const CACHE_ENTRIES = 16;

/** {@link rewriteEquality} with a small cache for large chunks. */
export function rewriteEqualityCached(code: string): string {
  if (code.length < 2000) return rewriteEquality(code);
  const hit = cache.get(code);
  if (hit !== undefined) return hit;
  const out = rewriteEquality(code);
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(code, out);
  return out;
}
