/**
 * Values printed the way Espruino's console does (`console.log`, `print`, the REPL's `=result`),
 * approximately: strings raw at top level, everything else as "pretty" JSON with spaces inside
 * brackets (`{ "a": 1, "b": [ 1, 2 ] }`), `undefined` and functions shown as themselves, typed
 * arrays as `new Uint8Array([1, 2])`. The REPL drops the quotes around identifier keys
 * (`{ a: 1 }`), as Espruino's JSON_DROP_QUOTES does. Works on values of any realm.
 */

/** Longest array or string shown in full before "..." (Espruino's JSON_LIMIT). */
const LIMIT_ITEMS = 100;
const MAX_DEPTH = 8;

export interface FormatOptions {
  /** Print identifier keys without quotes (the REPL result). */
  readonly dropQuotes?: boolean;
}

function isTypedArray(v: object): v is ArrayLike<number> & ArrayBufferView {
  return ArrayBuffer.isView(v) && !(Object.prototype.toString.call(v) === "[object DataView]");
}

function tag(v: object): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s.charAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c < 32 || (c >= 127 && c < 256)) out += "\\x" + (c + 256).toString(16).slice(1).toUpperCase();
    else out += ch;
  }
  return out + '"';
}

function isErrorLike(v: object): v is { message: unknown } {
  const t = tag(v);
  return t === "Error" || (typeof (v as { message?: unknown }).message === "string" && "stack" in v);
}

/** One value as Espruino prints it inside a structure (strings quoted). */
export function formatJson(v: unknown, opts: FormatOptions = {}, depth = 0, seen: object[] = []): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "string") return quote(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : String(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "symbol") return "undefined";
  if (typeof v === "function") return functionText(v);
  if (typeof v !== "object") return String(v);
  if (seen.includes(v)) return "{ ... }";
  if (depth >= MAX_DEPTH) return Array.isArray(v) ? "[ ... ]" : "{ ... }";
  const inner = [...seen, v];
  if (isErrorLike(v)) return String(v);
  if (isTypedArray(v)) {
    const items: string[] = [];
    const n = Math.min(v.length, LIMIT_ITEMS);
    for (let i = 0; i < n; i++) items.push(String(v[i]));
    if (v.length > n) items.push("...");
    return `new ${tag(v)}([${items.join(", ")}])`;
  }
  if (tag(v) === "ArrayBuffer") {
    return `new Uint8Array(${formatJson(Array.from(new Uint8Array(v as ArrayBuffer)), opts, depth, inner)}).buffer`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return "[ ]";
    const n = Math.min(v.length, LIMIT_ITEMS);
    const items: string[] = [];
    for (let i = 0; i < n; i++) items.push(formatJson(v[i], opts, depth + 1, inner));
    if (v.length > n) items.push("...");
    return `[ ${items.join(", ")} ]`;
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return "{ }";
  const parts: string[] = [];
  for (const k of keys.slice(0, LIMIT_ITEMS)) {
    const key = opts.dropQuotes && /^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k);
    parts.push(`${key}: ${formatJson((v as Record<string, unknown>)[k], opts, depth + 1, inner)}`);
  }
  if (keys.length > LIMIT_ITEMS) parts.push("...");
  return `{ ${parts.join(", ")} }`;
}

function functionText(f: unknown): string {
  try {
    const text = Function.prototype.toString.call(f);
    return text.includes("[native code]") ? "function () { [native code] }" : text;
  } catch {
    return "function () { [native code] }";
  }
}

/** `console.log(a, b, ...)`'s line: strings as they are, other values as pretty JSON. */
export function formatArgs(args: ArrayLike<unknown>): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    out.push(typeof a === "string" ? a : formatJson(a));
  }
  return out.join(" ");
}

/** An uncaught exception as Espruino reports it: `Uncaught Error: message` plus a stack excerpt. */
export function formatUncaught(e: unknown, scriptPrefix: string): string {
  if (typeof e === "object" && e !== null) {
    let text: string;
    try {
      text = String(e);
    } catch {
      text = "[object]";
    }
    const stack = (e as { stack?: unknown }).stack;
    let lines = "";
    if (typeof stack === "string") {
      const frames = stack
        .split("\n")
        .filter((l) => /^\s+at /.test(l) && l.includes(scriptPrefix))
        .slice(0, 4);
      if (frames.length > 0) lines = "\n" + frames.map((f) => "    " + f.trim()).join("\n");
    }
    return `Uncaught ${text}${lines}`;
  }
  return `Uncaught ${typeof e === "string" ? e : formatJson(e)}`;
}
