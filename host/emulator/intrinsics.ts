/**
 * What the emulator changes in a fresh V8 context so that it looks like Espruino 2v29 (see
 * /work/shared/spec/ESPRUINO.md and espruino-language.md, measured on the real interpreter). The
 * changes run INSIDE the context, on its own intrinsics, so the host's Map or Math.trunc are not
 * touched.
 *
 * Removed (so that firmware using them fails in CI as on the board): the globals, statics and
 * members listed below. Only what was measured missing, what the subset gate lists, and their
 * obvious twins (e.g. trimLeft with trimStart) are removed; a newer method the measurements do not
 * cover (toSorted, Object.hasOwn, Promise.allSettled...) is left as Node has it.
 *
 * Changed like Espruino (silently different there, emulated here because it is cheap):
 * - `TypeError`, `ReferenceError`, `SyntaxError` (and Espruino's `InternalError`, added) do not
 *   inherit from `Error` (`new TypeError() instanceof Error` is false) and no error has a `name`;
 *   `String(e)` still gives "TypeError: message";
 * - `JSON.parse` ignores a reviver; `JSON.stringify` is Espruino's (jswrap_json_stringify): it
 *   ignores a replacer, gives the string "null" for undefined and "undefined" for a function,
 *   leaves out undefined and function members of objects, writes `null` for undefined and
 *   `undefined` for a function in arrays, typed arrays and ArrayBuffers as arrays of their
 *   elements, a DataView as {buffer, byteOffset, byteLength}, skips accessor properties, escapes
 *   every character below 32 or from 127 as \u00XX (upper case), and indents like Espruino
 *   (`{ \n  "a": 1\n }`); numbers print as V8 prints them (Espruino uses 12 digits);
 * - every object has Espruino's event methods `on`, `addListener`, `emit`, `removeListener`,
 *   `removeAllListeners` (listeners live in a hidden "#on<event>" property, as on Espruino, and
 *   `on` returns undefined).
 * Not emulated (runs as in Node): no hoisting, `let` loop closures, `arguments` in arrows,
 * `super` recursion, 12-digit number printing, `Array.prototype` being undefined, a function's
 * `name`. The loader's gate refuses the syntactic ones (see gate.ts).
 */

/** Globals Espruino does not define. */
export const REMOVED_GLOBALS: readonly string[] = [
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "WeakRef",
  "FinalizationRegistry",
  "Symbol",
  "Proxy",
  "Reflect",
  "RangeError",
  "EvalError",
  "URIError",
  "AggregateError",
  "BigInt",
  "BigInt64Array",
  "BigUint64Array",
  "SharedArrayBuffer",
  "Atomics",
  "Intl",
  "WebAssembly",
  "queueMicrotask",
];

/** `Owner.member` statics Espruino lacks. */
export const REMOVED_STATICS: Readonly<Record<string, readonly string[]>> = {
  Array: ["from", "of"],
  Object: ["freeze", "isFrozen", "seal", "isSealed", "is", "getOwnPropertySymbols"],
  Number: [
    "EPSILON",
    "MAX_SAFE_INTEGER",
    "MIN_SAFE_INTEGER",
    "isFinite",
    "isInteger",
    "isNaN",
    "isSafeInteger",
    "parseFloat",
    "parseInt",
  ],
  Math: [
    "fround",
    "clz32",
    "imul",
    "trunc",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "hypot",
    "cbrt",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
  ],
  Promise: ["race"],
  ArrayBuffer: ["isView"],
  String: ["raw"],
  Error: ["captureStackTrace"],
};

/** Prototype members Espruino lacks (`Owner.prototype.member`; "TypedArray" is %TypedArray%). */
export const REMOVED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  Array: [
    "at",
    "copyWithin",
    "entries",
    "findLast",
    "findLastIndex",
    "flat",
    "flatMap",
    "keys",
    "lastIndexOf",
    "values",
  ],
  TypedArray: ["at", "copyWithin", "entries", "findLast", "findLastIndex", "keys", "lastIndexOf", "values"],
  String: ["at", "codePointAt", "localeCompare", "trimStart", "trimEnd", "trimLeft", "trimRight"],
  Promise: ["finally"],
  ArrayBuffer: ["slice"],
  DataView: ["getBigInt64", "getBigUint64", "setBigInt64", "setBigUint64"],
};

/**
 * The source of a function expression run once in each new context. It edits the context's
 * intrinsics as described above and returns the {@link RealmKitSource} helpers the host uses to
 * make values of that context's realm.
 */
export function preludeSource(): string {
  return `(function (removedGlobals, removedStatics, removedMembers) {
  "use strict";
  var G = globalThis;
  var defineProperty = Object.defineProperty;
  var isArray = Array.isArray;
  function hide(o, k, v) { defineProperty(o, k, { value: v, writable: true, configurable: true, enumerable: false }); }
  function del(o, names) {
    if (o) for (var i = 0; i < names.length; i++) { try { delete o[names[i]]; } catch (e) { /* kept */ } }
  }
  var construct = Reflect.construct;
  var TypedArray = Object.getPrototypeOf(Uint8Array);
  var owners = { TypedArray: TypedArray };
  var jsonParse = JSON.parse, jsonStringify = JSON.stringify;
  var taTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
  var evalFn = G.eval;
  for (var s in removedStatics) del(owners[s] || G[s], removedStatics[s]);
  for (var m in removedMembers) { var o = owners[m] || G[m]; del(o && o.prototype, removedMembers[m]); }
  del(TypedArray, ["from", "of"]);
  del(G, removedGlobals);

  // Number.EPSILON, MAX_SAFE_INTEGER and MIN_SAFE_INTEGER cannot be deleted (non-configurable):
  // replace Number by a constructor that shares its prototype and has only Espruino's constants.
  var OrigNumber = Number;
  var NumberE = function Number(value) {
    var n = arguments.length ? OrigNumber(value) : 0;
    return new.target === undefined ? n : construct(OrigNumber, [n], new.target);
  };
  NumberE.prototype = OrigNumber.prototype;
  hide(OrigNumber.prototype, "constructor", NumberE);
  ["MAX_VALUE", "MIN_VALUE", "NaN", "NEGATIVE_INFINITY", "POSITIVE_INFINITY"].forEach(function (k) {
    defineProperty(NumberE, k, { value: OrigNumber[k] });
  });
  hide(G, "Number", NumberE);

  // Same for the typed arrays' BYTES_PER_ELEMENT (non-configurable on each constructor and
  // prototype): each constructor is replaced by one that builds the real typed array with a
  // prototype of its own that lacks BYTES_PER_ELEMENT.
  ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
   "Uint32Array", "Float32Array", "Float64Array"].forEach(function (name) {
    var Orig = G[name];
    var Ctor = function () {
      if (new.target === undefined) throw new TypeError("Constructor " + name + " requires 'new'");
      return construct(Orig, arguments, new.target);
    };
    Object.setPrototypeOf(Ctor, TypedArray);
    var proto = Object.create(TypedArray.prototype);
    hide(proto, "constructor", Ctor);
    defineProperty(Ctor, "prototype", { value: proto });
    hide(G, name, Ctor);
  });

  function InternalError(message) {
    if (!(this instanceof InternalError)) return new InternalError(message);
    if (message !== undefined) hide(this, "message", String(message));
  }
  delete Error.prototype.name;
  var errorTypes = [["TypeError", TypeError], ["ReferenceError", ReferenceError],
    ["SyntaxError", SyntaxError], ["InternalError", InternalError]];
  errorTypes.forEach(function (pair) {
    var label = pair[0], E = pair[1];
    Object.setPrototypeOf(E, Function.prototype);
    Object.setPrototypeOf(E.prototype, Object.prototype);
    delete E.prototype.name;
    hide(E.prototype, "message", "");
    hide(E.prototype, "toString", function toString() { return this.message ? label + ": " + this.message : label; });
  });
  hide(G, "InternalError", InternalError);

  hide(JSON, "parse", function parse(text) { return jsonParse(text); });
  // Espruino's JSON.stringify (jswrap_json_stringify: JSON_IGNORE_FUNCTIONS | JSON_NO_UNDEFINED |
  // JSON_ARRAYBUFFER_AS_ARRAY | JSON_JSON_COMPATIBILE | JSON_ALLOW_TOJSON, and with a space
  // JSON_PRETTY | JSON_ALL_NEWLINES); see the file comment.
  var objectToString = Object.prototype.toString;
  var getOwnDescriptor = Object.getOwnPropertyDescriptor;
  var objectKeys = Object.keys;
  var OrigU8 = Uint8Array;
  var NEEDS_ESCAPE = /["\\\\\\u0000-\\u001f\\u007f-\\uffff]/;
  function jsonQuote(s) {
    if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
    var out = '"';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c === 34) out += '\\\\"';
      else if (c === 92) out += "\\\\\\\\";
      else if (c === 8) out += "\\\\b";
      else if (c === 9) out += "\\\\t";
      else if (c === 10) out += "\\\\n";
      else if (c === 12) out += "\\\\f";
      else if (c === 13) out += "\\\\r";
      else if (c < 32 || c >= 127) { var h = c.toString(16).toUpperCase(); out += "\\\\u" + "0000".slice(h.length) + h; }
      else out += s.charAt(i);
    }
    return out + '"';
  }
  function newLine(ws, level) { var s = "\\n"; for (var i = 0; i < level; i++) s += ws; return s; }
  function jsonValue(v, key, ws, level, toJSON) {
    if (v === undefined || v === null) return "null";
    var t = typeof v;
    if (t === "string") return jsonQuote(v);
    if (t === "number") return isFinite(v) ? String(v) : "null";
    if (t === "boolean") return v ? "true" : "false";
    if (t !== "object") return "undefined";
    var pretty = ws !== "", i, out, first = true;
    var isTA = taTag.call(v) !== undefined, tag = isTA ? "" : objectToString.call(v);
    if (isTA || tag === "[object ArrayBuffer]") {
      var bytes = isTA ? v : new OrigU8(v);
      out = "[" + (pretty ? newLine(ws, level + 1) : "");
      for (i = 0; i < bytes.length; i++) {
        if (i > 0) out += pretty ? ", " : ",";
        if (pretty) out += newLine(ws, level + 1);
        out += jsonValue(bytes[i], undefined, ws, level + 1, toJSON);
      }
      return out + (pretty ? newLine(ws, level) : "") + "]";
    }
    if (isArray(v)) {
      out = pretty ? "[ " : "[";
      for (i = 0; i < v.length; i++) {
        if (i > 0) out += pretty ? ", " : ",";
        if (pretty) out += newLine(ws, level + 1);
        out += typeof v[i] === "function" ? "undefined" : jsonValue(v[i], String(i), ws, level + 1, toJSON);
      }
      return out + (pretty && v.length > 0 ? newLine(ws, level) : "") + (pretty ? " ]" : "]");
    }
    if (toJSON && typeof v.toJSON === "function") {
      return jsonValue(v.toJSON(key === undefined ? undefined : String(key)), undefined, ws, level, false);
    }
    if (tag === "[object DataView]") {
      v = { buffer: v.buffer, byteOffset: v.byteOffset, byteLength: v.byteLength };
    }
    out = pretty ? "{ " : "{";
    var keys = objectKeys(v);
    for (i = 0; i < keys.length; i++) {
      var d = getOwnDescriptor(v, keys[i]);
      if (d === undefined || !("value" in d)) continue;
      if (d.value === undefined || typeof d.value === "function") continue;
      if (!first) out += pretty ? ", " : ",";
      first = false;
      if (pretty) out += newLine(ws, level + 1);
      out += jsonQuote(keys[i]) + (pretty ? ": " : ":") + jsonValue(d.value, keys[i], ws, level + 1, toJSON);
    }
    return out + (pretty && !first ? newLine(ws, level) : "") + (pretty ? " }" : "}");
  }
  function stringify(value, replacer, space) {
    var ws = "";
    if (typeof space === "number" || typeof space === "boolean") {
      var n = Math.max(0, Math.min(10, Math.floor(Number(space)) || 0));
      while (ws.length < n) ws += " ";
    } else if (space !== undefined && space !== null) ws = String(space).slice(0, 10);
    if (typeof value === "function") return "undefined";
    return jsonValue(value, undefined, ws, 0, true);
  }
  hide(JSON, "stringify", stringify);

  var PREFIX = "#on";
  function on(event, listener) {
    var k = PREFIX + event, cur = this[k];
    if (cur === undefined) hide(this, k, listener);
    else if (isArray(cur)) cur.push(listener);
    else hide(this, k, [cur, listener]);
  }
  function listeners(obj, event) {
    var l = obj[PREFIX + event];
    return l === undefined ? [] : isArray(l) ? l.slice() : [l];
  }
  function emit(event) {
    var args = [];
    for (var i = 1; i < arguments.length; i++) args.push(arguments[i]);
    var ls = listeners(this, event);
    for (var j = 0; j < ls.length; j++) {
      if (typeof ls[j] === "function") ls[j].apply(this, args); else evalFn(String(ls[j]));
    }
  }
  function removeListener(event, listener) {
    var k = PREFIX + event, cur = this[k];
    if (cur === listener) delete this[k];
    else if (isArray(cur)) {
      var i = cur.indexOf(listener);
      if (i >= 0) cur.splice(i, 1);
      if (cur.length === 0) delete this[k];
    }
  }
  function removeAllListeners(event) {
    if (event !== undefined) { delete this[PREFIX + event]; return; }
    var names = Object.getOwnPropertyNames(this);
    for (var i = 0; i < names.length; i++) if (names[i].indexOf(PREFIX) === 0) delete this[names[i]];
  }
  hide(Object.prototype, "on", on);
  hide(Object.prototype, "addListener", on);
  hide(Object.prototype, "emit", emit);
  hide(Object.prototype, "removeListener", removeListener);
  hide(Object.prototype, "removeAllListeners", removeAllListeners);

  return {
    fn: function (h) { return function () { return h(this, arguments); }; },
    emit: function (obj, event, args) { emit.apply(obj, [event].concat(args)); },
    listeners: function (obj, event) { return listeners(obj, event); },
    evaluate: function (code) { return evalFn(code); },
    Object: Object, Array: Array, Error: Error, TypeError: TypeError, InternalError: InternalError,
    ArrayBuffer: ArrayBuffer, Uint8Array: Uint8Array, JSONparse: jsonParse, JSONstringify: jsonStringify,
    JSONstringifyEspruino: stringify,
    Promise: Promise
  };
})`;
}

/** What the prelude returns: helpers that make values of the context's realm. */
export interface RealmKitSource {
  /** A context function that calls `h(this, arguments)`: host code exposed with the realm's prototypes. */
  fn(h: (self: unknown, args: ArrayLike<unknown>) => unknown): (...args: unknown[]) => unknown;
  /** Calls `obj.emit(event, ...args)` with the context's emit (listeners run with `this` = obj). */
  emit(obj: object, event: string, args: readonly unknown[]): void;
  /** The listeners registered with `obj.on(event, ...)`. */
  listeners(obj: object, event: string): unknown[];
  /** Indirect eval in the context (global scope). */
  evaluate(code: string): unknown;
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  Error: ErrorConstructor;
  TypeError: ErrorConstructor;
  InternalError: ErrorConstructor;
  ArrayBuffer: ArrayBufferConstructor;
  Uint8Array: Uint8ArrayConstructor;
  /** The original JSON.parse (with reviver support), for the host's own use. */
  JSONparse(text: string): unknown;
  JSONstringify(value: unknown, replacer?: undefined, space?: string | number): string | undefined;
  /** The context's JSON.stringify, Espruino's (JSON.stringify(undefined) is "null"), for Storage.writeJSON. */
  JSONstringifyEspruino(value: unknown): string;
  Promise: PromiseConstructor;
}
