/**
 * A small lossless JSON reader and writer for the canonical JSON form.
 *
 * `JSON.parse` turns u64 values above 2^53 into approximate doubles (and Espruino's wraps them),
 * so numbers are kept as their source text ({@link JsonNumber}) and converted by whoever knows
 * what the field is (a u64, a u32 or an f64). Espruino-safe: no regular expressions, no BigInt.
 */

/** A JSON number kept as its exact source text. */
export class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** A parsed JSON value with numbers kept exact. */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

/** A JSON object. Keys are kept in source order; a repeated key is reported as an error. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The result of {@link parseJson}: the value, or the offset and reason of the first error. */
export type JsonParseResult = { ok: true; value: JsonValue } | { ok: false; offset: number; reason: string };

/** Nesting deeper than this is refused (no message needs more than 8 levels). */
const MAX_DEPTH = 64;

let src = "";
let at = 0;
let err = "";

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function skipWs(): void {
  while (at < src.length && isWs(src.charCodeAt(at))) at++;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function parseNumber(): JsonNumber | undefined {
  const start = at;
  if (src.charCodeAt(at) === 45) at++;
  if (!isDigit(src.charCodeAt(at))) {
    err = "a digit";
    return undefined;
  }
  if (src.charCodeAt(at) === 48) at++;
  else while (isDigit(src.charCodeAt(at))) at++;
  if (src.charCodeAt(at) === 46) {
    at++;
    if (!isDigit(src.charCodeAt(at))) {
      err = "a digit after the decimal point";
      return undefined;
    }
    while (isDigit(src.charCodeAt(at))) at++;
  }
  const e = src.charCodeAt(at);
  if (e === 101 || e === 69) {
    at++;
    const s = src.charCodeAt(at);
    if (s === 43 || s === 45) at++;
    if (!isDigit(src.charCodeAt(at))) {
      err = "a digit in the exponent";
      return undefined;
    }
    while (isDigit(src.charCodeAt(at))) at++;
  }
  return new JsonNumber(src.slice(start, at));
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseString(): string | undefined {
  at++;
  let out = "";
  let runStart = at;
  while (at < src.length) {
    const c = src.charCodeAt(at);
    if (c === 34) {
      out += src.slice(runStart, at);
      at++;
      return out;
    }
    if (c < 32) {
      err = "no control character inside a string";
      return undefined;
    }
    if (c === 92) {
      out += src.slice(runStart, at);
      const e = src.charAt(at + 1);
      if (e === "u") {
        let code = 0;
        for (let i = 2; i < 6; i++) {
          const h = hexValue(src.charCodeAt(at + i));
          if (h < 0) {
            err = "four hex digits after \\u";
            return undefined;
          }
          code = code * 16 + h;
        }
        out += String.fromCharCode(code);
        at += 6;
      } else {
        const i = '"\\/bfnrt'.indexOf(e);
        if (e === "" || i < 0) {
          err = "a valid escape";
          return undefined;
        }
        out += '"\\/\b\f\n\r\t'.charAt(i);
        at += 2;
      }
      runStart = at;
      continue;
    }
    at++;
  }
  err = "a closing quote";
  return undefined;
}

function expectWord(word: string): boolean {
  if (src.slice(at, at + word.length) === word) {
    at += word.length;
    return true;
  }
  err = "a JSON value";
  return false;
}

/** Parses one value at `at`; undefined with `err` set on error. */
function parseValue(depth: number): JsonValue | undefined {
  if (depth > MAX_DEPTH) {
    err = "less nesting";
    return undefined;
  }
  skipWs();
  const c = src.charCodeAt(at);
  if (c === 123) return parseObject(depth);
  if (c === 91) return parseArray(depth);
  if (c === 34) return parseString();
  if (c === 45 || isDigit(c)) return parseNumber();
  if (c === 116) return expectWord("true") ? true : undefined;
  if (c === 102) return expectWord("false") ? false : undefined;
  if (c === 110) return expectWord("null") ? null : undefined;
  err = "a JSON value";
  return undefined;
}

function parseArray(depth: number): JsonValue[] | undefined {
  at++;
  const out: JsonValue[] = [];
  skipWs();
  if (src.charCodeAt(at) === 93) {
    at++;
    return out;
  }
  for (;;) {
    const v = parseValue(depth + 1);
    if (v === undefined) return undefined;
    out.push(v);
    skipWs();
    const c = src.charCodeAt(at);
    at++;
    if (c === 93) return out;
    if (c !== 44) {
      at--;
      err = "',' or ']'";
      return undefined;
    }
  }
}

function parseObject(depth: number): JsonObject | undefined {
  at++;
  const out: JsonObject = {};
  skipWs();
  if (src.charCodeAt(at) === 125) {
    at++;
    return out;
  }
  for (;;) {
    skipWs();
    if (src.charCodeAt(at) !== 34) {
      err = "a string key";
      return undefined;
    }
    const keyAt = at;
    const key = parseString();
    if (key === undefined) return undefined;
    if (out[key] !== undefined) {
      at = keyAt;
      err = "no repeated key";
      return undefined;
    }
    skipWs();
    if (src.charCodeAt(at) !== 58) {
      err = "':'";
      return undefined;
    }
    at++;
    const v = parseValue(depth + 1);
    if (v === undefined) return undefined;
    out[key] = v;
    skipWs();
    const c = src.charCodeAt(at);
    at++;
    if (c === 125) return out;
    if (c !== 44) {
      at--;
      err = "',' or '}'";
      return undefined;
    }
  }
}

/** Parses a whole JSON text, keeping numbers as text. Never throws. */
export function parseJson(text: string): JsonParseResult {
  src = text;
  at = 0;
  err = "";
  const v = parseValue(0);
  if (v !== undefined) {
    skipWs();
    if (at === src.length) return { ok: true, value: v };
    err = "the end of the text";
  }
  const r: JsonParseResult = { ok: false, offset: at, reason: "expected " + err };
  src = "";
  return r;
}

/** True for a JSON object (not an array, not null, not a number). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !(v instanceof JsonNumber) && !Array.isArray(v);
}

/** A JSON string literal for `s` (quotes and escapes as serde_json writes them). */
export function quoteJson(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) out += '\\"';
    else if (c === 92) out += "\\\\";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c < 32) out += "\\u" + ("000" + c.toString(16)).slice(-4);
    else out += s.charAt(i);
  }
  return out + '"';
}

/**
 * An f64 as serde_json prints it (Rust's shortest round-trip digits, ryu's layout): integral
 * values keep a ".0" (`48000.0`), exponents have no "+" (`1e300`), and the decimal point moves
 * into the digits for exponents from -5 to 16. JavaScript's shortest digits are the same digits.
 * Exact on Node; on Espruino numbers print with about 12 significant digits.
 */
export function formatF64(x: number): string {
  if (!(x > -Infinity && x < Infinity)) return "null"; // NaN and infinities
  if (x === 0) return 1 / x < 0 ? "-0.0" : "0.0";
  const neg = x < 0;
  const e = (neg ? -x : x).toExponential();
  const ePos = e.indexOf("e");
  const mantissa = e.slice(0, ePos);
  const digits = mantissa.charAt(0) + mantissa.slice(2);
  const exp = parseInt(e.slice(ePos + 1), 10);
  // kk: the position of the decimal point relative to the start of `digits`.
  const kk = exp + 1;
  const len = digits.length;
  let out: string;
  if (len <= kk && kk <= 16) {
    out = digits + "0".repeat(kk - len) + ".0";
  } else if (0 < kk && kk <= 16) {
    out = digits.slice(0, kk) + "." + digits.slice(kk);
  } else if (-5 < kk && kk <= 0) {
    out = "0." + "0".repeat(-kk) + digits;
  } else if (len === 1) {
    out = digits + "e" + (kk - 1);
  } else {
    out = digits.charAt(0) + "." + digits.slice(1) + "e" + (kk - 1);
  }
  return neg ? "-" + out : out;
}
