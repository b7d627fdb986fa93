/**
 * A fresh V8 context turned into an Espruino-like realm (see intrinsics.ts for what is removed
 * and changed), with helpers that make values OF THAT REALM from host code: objects, arrays,
 * errors, byte arrays and functions whose prototypes are the context's own, so that firmware
 * code sees `x instanceof Error`, `Array.isArray` and friends behave as for its own values, and
 * none of Node's globals (`process`, `Buffer`, `require`...) leak in. This is an emulator, not a
 * sandbox: the program is trusted.
 */

import { types } from "node:util";
import vm from "node:vm";
import { EQUALITY_HELPERS, equalityHelpersSource } from "./equality.js";
import {
  preludeSource,
  REMOVED_GLOBALS,
  REMOVED_MEMBERS,
  REMOVED_STATICS,
  type RealmKitSource,
} from "./intrinsics.js";

let contexts = 0;

/** A context and the means to make its values. */
export class Realm {
  readonly context: vm.Context;
  /** Name given to vm.createContext (the inspector finds the context by it). */
  readonly name: string;
  /** The context's global object. */
  readonly global: Record<string, unknown>;
  readonly kit: RealmKitSource;
  private readonly builtIns = new WeakSet<object>();
  private readonly natives = new WeakSet<object>();
  /** Global names present before any program ran. */
  readonly initialGlobals = new Set<string>();

  constructor() {
    contexts++;
    this.name = `espruino-emulator-${process.pid}-${contexts}`;
    this.context = vm.createContext({}, { name: this.name, codeGeneration: { strings: true, wasm: false } });
    // Espruino's ===, !==, ==, != (the loader rewrites the operators into calls of these: equality.ts).
    const equality = vm.runInContext(equalityHelpersSource(), this.context) as () => Record<string, unknown>;
    const helpers = equality();
    const prelude = vm.runInContext(preludeSource(), this.context) as (
      g: readonly string[],
      s: Readonly<Record<string, readonly string[]>>,
      m: Readonly<Record<string, readonly string[]>>,
    ) => RealmKitSource;
    this.kit = prelude(REMOVED_GLOBALS, REMOVED_STATICS, REMOVED_MEMBERS);
    this.global = vm.runInContext("globalThis", this.context) as Record<string, unknown>;
    for (const [op, name] of Object.entries(EQUALITY_HELPERS)) this.define(name, helpers[op]);
    // V8 gives every context a `console` that writes to the inspector: the board's replaces it.
    delete this.global.console;
  }

  /** Defines a global (non-enumerable, like Espruino's built-ins). */
  define(name: string, value: unknown): void {
    Object.defineProperty(this.global, name, {
      value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  /** Marks everything reachable now as built-in (call once the globals are installed). */
  sealBuiltIns(): void {
    for (const k of Object.getOwnPropertyNames(this.global)) this.initialGlobals.add(k);
    const stack: unknown[] = [this.global];
    for (let guard = 0; stack.length > 0 && guard < 200000; guard++) {
      const v = stack.pop();
      if ((typeof v !== "object" && typeof v !== "function") || v === null) continue;
      if (this.builtIns.has(v)) continue;
      this.builtIns.add(v);
      stack.push(Object.getPrototypeOf(v));
      for (const k of Object.getOwnPropertyNames(v)) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (d === undefined) continue;
        if ("value" in d) stack.push(d.value);
        else stack.push(d.get, d.set);
      }
    }
  }

  isBuiltIn(o: object): boolean {
    return this.builtIns.has(o);
  }

  /** Marks an object made by the emulator (a socket, a module): counted as 1 block + listeners. */
  markNative<T extends object>(o: T): T {
    this.natives.add(o);
    return o;
  }

  isNative(o: object): boolean {
    return this.natives.has(o);
  }

  /** A plain object of the realm with `props` copied in. */
  object(props: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
    const o = new this.kit.Object() as Record<string, unknown>;
    for (const [k, v] of Object.entries(props)) o[k] = v;
    return o;
  }

  /** An array of the realm. */
  array(items: readonly unknown[]): unknown[] {
    const a = new this.kit.Array() as unknown[];
    for (const i of items) a.push(i);
    return a;
  }

  /** An Error of the realm (to throw from host functions). */
  error(message: string): Error {
    return new this.kit.Error(message);
  }

  typeError(message: string): Error {
    return new this.kit.TypeError(message);
  }

  internalError(message: string): Error {
    return new this.kit.InternalError(message);
  }

  /** A Uint8Array of the realm holding `bytes` (copied; a missing element is 0). */
  bytes(bytes: ArrayLike<number>): Uint8Array {
    const u = new this.kit.Uint8Array(bytes.length);
    // The host's `set` (one native copy; the program cannot replace it), not the realm's.
    Uint8Array.prototype.set.call(u, bytes);
    return u;
  }

  /** A Uint8Array of the realm holding the bytes of binary string `s` (each char's low 8 bits). */
  stringBytes(s: string): Uint8Array {
    const u = new this.kit.Uint8Array(s.length);
    writeBinaryString(s, u);
    return u;
  }

  /** An ArrayBuffer of the realm holding `bytes` (copied). */
  arrayBuffer(bytes: ArrayLike<number>): ArrayBuffer {
    return this.bytes(bytes).buffer as ArrayBuffer;
  }

  /** Parses JSON into values of the realm. */
  parseJson(text: string): unknown {
    return this.kit.JSONparse(text);
  }

  /**
   * A function of the realm that calls `h(this, args)`. Exceptions `h` throws pass through, so
   * throw {@link error} values.
   */
  fn(h: (self: unknown, args: ArrayLike<unknown>) => unknown): (...args: unknown[]) => unknown {
    return this.kit.fn(h);
  }

  /** An object of the realm whose methods are host functions (each gets `args` only). */
  methods(table: Readonly<Record<string, (...args: unknown[]) => unknown>>): Record<string, unknown> {
    const o = this.object();
    for (const [k, f] of Object.entries(table)) {
      Object.defineProperty(o, k, {
        value: this.fn((_self, args) => Reflect.apply(f, undefined, args)),
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
    return o;
  }

  /** Emits `event` on `obj` with the context's emit (listeners run with `this` = obj). */
  emit(obj: object, event: string, args: readonly unknown[]): void {
    this.kit.emit(obj, event, this.array(args));
  }

  /** The listeners of `event` registered on `obj`. */
  listeners(obj: object, event: string): unknown[] {
    return this.kit.listeners(obj, event);
  }

  /** Runs `code` as a script of the context (global scope). */
  run(code: string, filename: string, timeoutMs?: number): unknown {
    const script = new vm.Script(code, { filename });
    return timeoutMs === undefined
      ? script.runInContext(this.context)
      : script.runInContext(this.context, { timeout: timeoutMs });
  }
}

/**
 * A binary string (one char per byte, 0-255) from bytes. Typed arrays of 1-byte elements (of any
 * realm) are decoded as Latin-1 by Node (each byte its char: one native copy); other array-likes
 * take each element's low 8 bits (a missing one is 0).
 */
export function binaryString(bytes: ArrayLike<number>): string {
  if (types.isUint8Array(bytes) || types.isInt8Array(bytes) || types.isUint8ClampedArray(bytes)) {
    const v = bytes as Uint8Array;
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("latin1");
  }
  const u = new Uint8Array(bytes.length);
  for (let i = 0; i < u.length; i++) u[i] = (bytes[i] ?? 0) & 255;
  return Buffer.from(u.buffer, 0, u.length).toString("latin1");
}

/**
 * Writes the bytes of binary string `s` (each UTF-16 unit's low 8 bits: Node's Latin-1 encoder
 * truncates the same way) into `target` (of any realm), which must hold `s.length` bytes.
 */
export function writeBinaryString(s: string, target: Uint8Array): void {
  Buffer.from(target.buffer, target.byteOffset, target.byteLength).write(s, 0, "latin1");
}

/** The bytes of a binary string (each char's low 8 bits). */
export function stringBytes(s: string): Uint8Array {
  const u = new Uint8Array(s.length);
  writeBinaryString(s, u);
  return u;
}
