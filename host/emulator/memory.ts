/**
 * `process.memory()` for an emulated board: an ESTIMATE of the JsVar blocks (14 bytes each on
 * ESP32) that the program's data and code would take on real Espruino, from a walk of what the
 * program can reach in its V8 context. How it counts (Espruino's storage model, simplified):
 *
 * - roots: the global object's own properties that are not Espruino built-ins, the top-level
 *   `let`/`const`/`class` bindings, the callbacks of pending timers and every listener registered
 *   on built-in objects (sockets, `E`, `process`, Wi-Fi); each object is counted once;
 * - a property or array element: 1 block for its name (+1 per 12 characters beyond 4), plus its
 *   value; integers, booleans, null and undefined are packed into the name block (0 more);
 *   other numbers take 1 block, a string 1 block (8 characters) +1 per 12 more;
 * - an object or array: 1 block + its properties; its prototype when it is not a built-in (class
 *   prototypes with their methods); a Date 2, a Promise 3, a RegExp 1 + its source;
 * - an ArrayBuffer of n bytes: 2 + ceil(n / 14) (a flat string), a typed array or DataView 1 more
 *   (so `new Uint8Array(1400)` is 103, as measured on ESP32);
 * - a function: 1 block + its properties + its code: code that came from Storage (the firmware
 *   booted from `.bootcde`) runs from flash and costs 2 blocks, code uploaded into RAM (the
 *   console) keeps its source text, counted as a string; plus, for a closure, 1 block for the
 *   scope link and the variables it captures. V8 does not expose closure variables to scripts,
 *   so they are read through the inspector protocol (node:inspector, synchronous on the main
 *   thread); V8 keeps only the variables a closure actually uses (Espruino keeps the whole scope),
 *   and two closures with equal primitive variables are counted once: closures are slightly
 *   UNDER-estimated;
 * - plus a fixed base for the interpreter itself ({@link BASE_BLOCKS}), and what the board adds
 *   for its built-in objects (each open socket, each timer).
 * Calibrated against ESPRUINO.md's figures (a 12 KB minified program uploaded to RAM: about
 * 1,000 blocks; from flash: 35-50 % fewer). It is a model, not a measurement: expect +-30 %.
 * Cost: one walk per call. Without closures (`inspectClosures: false`) under 1 ms; with them, one
 * inspector request per function reached plus one for all their scopes, about 15-30 ms for the
 * 40 KB firmware (153 functions; 0.2 s before the scopes were read in Node instead of through
 * Runtime.getProperties). The board's loop stalls that long.
 */

import inspector from "node:inspector";
import type vm from "node:vm";

/** Blocks Espruino uses for itself before any program (root, timer and watch arrays, modules). */
export const BASE_BLOCKS = 40;
/** Characters of a name held by its first block. */
const NAME_CHARS = 4;
/** Characters of a string held by its first block. */
const STRING_CHARS = 8;
/** Characters held by each extension block of a string. */
const EXT_CHARS = 12;
/** Bytes per block of a flat string (typed array backing store). */
const FLAT_BYTES = 14;
/** Blocks for a function whose code stays in flash. */
const FLASH_CODE_BLOCKS = 2;

/** Blocks of a string of `n` characters. */
export function stringBlocks(n: number): number {
  return 1 + Math.ceil(Math.max(0, n - STRING_CHARS) / EXT_CHARS);
}

function nameBlocks(name: string): number {
  return 1 + Math.ceil(Math.max(0, name.length - NAME_CHARS) / EXT_CHARS);
}

function isPacked(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    typeof v === "boolean" ||
    (typeof v === "number" && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)
  );
}

function tagOf(o: object): string {
  return Object.prototype.toString.call(o).slice(8, -1);
}

// --- the inspector session (one per thread, connected on first use) -------------------------

interface RemoteObject {
  type: string;
  subtype?: string;
  value?: unknown;
  objectId?: string;
  description?: string;
}

interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
}

interface GetPropertiesResult {
  result: PropertyDescriptor[];
  internalProperties?: PropertyDescriptor[];
}

let session: inspector.Session | undefined;

function post<T>(method: string, params: object): T {
  const s = session ?? new inspector.Session();
  if (session === undefined) {
    s.connect();
    session = s;
  }
  let out: T | undefined;
  let failure: Error | null = null;
  s.post(method, params, (err, res) => {
    failure = err;
    out = res as T;
  });
  if (failure !== null) throw failure;
  if (out === undefined) throw new Error(`inspector: no synchronous answer to ${method}`);
  return out;
}

/** What the estimator needs to know about a context. */
export interface MemorySubject {
  readonly context: vm.Context;
  /** The context's name (given to vm.createContext), to find it through the inspector. */
  readonly contextName: string;
  /** Objects of the realm's built-ins and of the emulator's shims: not counted. */
  isBuiltIn(o: object): boolean;
  /** Built-in objects that hold program data (listeners, hidden "#on..." properties). */
  isNative(o: object): boolean;
  /** True when a function's source text came from flash (Storage), false when typed into RAM. */
  isFlashCode(text: string): boolean;
}

const SINK = "__emulatorMemorySink";
const FNS = "__emulatorMemoryFunctions";
const GROUP = "emulator-memory";

/** One scope of a closure: its description ("Closure", "Script"...), variables and object values. */
interface ScopeRead {
  desc: string;
  vars: ScopeVariable[];
  /** The object values of `vars`, in order. */
  values: unknown[];
}

/** A variable of a closure scope. */
interface ScopeVariable {
  name: string;
  object: boolean;
  /** "name=type:value" (primitives), as the protocol's RemoteObject gives them. */
  prim: string;
  /** The primitive's value (undefined when the protocol gives none). */
  value: unknown;
}

/** A primitive as the protocol's RemoteObject gives it: NaN, +-Infinity, -0 and bigints have no value. */
function primVariable(name: string, v: unknown): ScopeVariable {
  const t = typeof v;
  const plain = t !== "bigint" && !(typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)));
  const value = plain ? v : undefined;
  return { name, object: false, prim: `${name}=${t}:${String(value)}`, value };
}

/**
 * The scopes of one function from its [[Scopes]] array (V8's `{description, object}` entries,
 * `object` being the inspector's snapshot of a scope's variables), read here in Node; Global and
 * With scopes are left out. Undefined when the array is not shaped so.
 */
function readScopeArray(a: unknown): ScopeRead[] | undefined {
  if (typeof a !== "object" || a === null) return undefined;
  const n = (a as { length?: unknown }).length;
  if (typeof n !== "number") return undefined;
  const out: ScopeRead[] = [];
  for (let i = 0; i < n; i++) {
    const s = (a as Record<number, unknown>)[i];
    if (typeof s !== "object" || s === null) return undefined;
    const desc = (s as { description?: unknown }).description;
    const o = (s as { object?: unknown }).object;
    if (typeof desc !== "string" || typeof o !== "object" || o === null) return undefined;
    if (desc === "Global" || desc.startsWith("With")) continue;
    const vars: ScopeVariable[] = [];
    const values: unknown[] = [];
    for (const name in o) {
      const v = (o as Record<string, unknown>)[name];
      if ((typeof v === "object" && v !== null) || typeof v === "function" || typeof v === "symbol") {
        vars.push({ name, object: true, prim: "", value: undefined });
        values.push(v);
      } else {
        vars.push(primVariable(name, v));
      }
    }
    out.push({ desc, vars, values });
  }
  return out;
}

/** Estimates blocks for the values reachable from `roots` in `subject` (see the file comment). */
export class MemoryWalk {
  private readonly seen = new Set<object>();
  private readonly pendingFunctions: object[] = [];
  private readonly seenScopes = new Set<string>();
  private readonly identity = new Map<object, number>();
  blocks = 0;

  constructor(private readonly subject: MemorySubject) {}

  /** Adds the blocks of `v` (as a stored value: 0 for packed primitives). */
  add(v: unknown): void {
    this.blocks += this.valueCost(v);
  }

  /** Walks closures through the inspector until no new function turns up (bounded). */
  finish(useInspector: boolean): number {
    for (let round = 0; round < 50 && this.pendingFunctions.length > 0; round++) {
      const fns = this.pendingFunctions.splice(0);
      if (!useInspector) continue;
      try {
        this.scopes(fns);
      } catch {
        // No inspector (or the context is gone): closures stay uncounted.
        return this.blocks;
      }
    }
    return this.blocks;
  }

  private valueCost(v: unknown): number {
    if (isPacked(v)) return 0;
    if (typeof v === "number" || typeof v === "bigint") return 1;
    if (typeof v === "string") return stringBlocks(v.length);
    if (typeof v === "symbol") return 1;
    if ((typeof v === "object" || typeof v === "function") && v !== null) return this.objectCost(v);
    return 0;
  }

  private objectCost(o: object): number {
    if (this.seen.has(o)) return 0;
    this.seen.add(o);
    if (this.subject.isNative(o)) return 1 + this.listenerCost(o);
    if (this.subject.isBuiltIn(o)) return 0;
    if (typeof o === "function") return this.functionCost(o);
    const tag = tagOf(o);
    if (tag === "ArrayBuffer") {
      const n = (o as ArrayBuffer).byteLength;
      return 2 + Math.ceil(n / FLAT_BYTES);
    }
    if (ArrayBuffer.isView(o)) return 1 + this.objectCost(o.buffer) + this.propsCost(o, true);
    if (tag === "Date") return 2;
    if (tag === "Promise") return 3;
    if (tag === "RegExp") return 1 + stringBlocks((o as RegExp).source.length);
    if (tag === "Number" || tag === "String" || tag === "Boolean") return 2;
    let cost = 1 + this.propsCost(o, false);
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto !== null && typeof proto === "object") cost += this.objectCost(proto);
    return cost;
  }

  /** Own properties: names and values (accessors: their functions). */
  private propsCost(o: object, skipIndices: boolean): number {
    let cost = 0;
    for (const key of Object.getOwnPropertyNames(o)) {
      if (skipIndices && /^\d+$/.test(key)) continue;
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d === undefined) continue;
      if (typeof o === "function" && (key === "length" || key === "name" || key === "prototype")) {
        if (key === "prototype" && d.value !== undefined && this.hasOwnData(d.value)) {
          cost += nameBlocks(key) + this.valueCost(d.value);
        }
        continue;
      }
      if (Array.isArray(o) && key === "length") continue;
      cost += nameBlocks(key);
      if ("value" in d) cost += this.valueCost(d.value);
      else cost += this.valueCost(d.get) + this.valueCost(d.set);
    }
    return cost;
  }

  /** A function's prototype object counts only when something was put on it. */
  private hasOwnData(proto: unknown): boolean {
    if (typeof proto !== "object" || proto === null) return false;
    return Object.getOwnPropertyNames(proto).some((k) => k !== "constructor");
  }

  private listenerCost(o: object): number {
    let cost = 0;
    for (const key of Object.getOwnPropertyNames(o)) {
      if (!key.startsWith("#on")) continue;
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d !== undefined && "value" in d) cost += nameBlocks(key) + this.valueCost(d.value);
    }
    return cost;
  }

  private functionCost(f: object): number {
    let text: string;
    try {
      text = Function.prototype.toString.call(f);
    } catch {
      return 1;
    }
    if (text.includes("[native code]")) return 1;
    const code = this.subject.isFlashCode(text) ? FLASH_CODE_BLOCKS : stringBlocks(text.length);
    this.pendingFunctions.push(f);
    return 1 + code + this.propsCost(f, false);
  }

  // --- closures, through the inspector -------------------------------------------------------

  private contextId(): number {
    let id: number | undefined;
    const s = session ?? new inspector.Session();
    if (session === undefined) {
      s.connect();
      session = s;
    }
    const listener = (m: { params: { context: { id: number; name: string } } }): void => {
      if (m.params.context.name === this.subject.contextName) id = m.params.context.id;
    };
    s.on("Runtime.executionContextCreated", listener);
    try {
      post("Runtime.enable", {});
    } finally {
      s.off("Runtime.executionContextCreated", listener);
    }
    if (id === undefined) throw new Error("context not found");
    return id;
  }

  /**
   * Counts the closure scopes of `fns`: one Runtime.getProperties per function for its
   * [[Scopes]], then one call that hands all those arrays to Node, where the scope snapshots are
   * read directly. (Runtime.getProperties on each scope would describe every function value by
   * its whole source text: megabytes per walk for a bundled firmware, whose module scope all its
   * functions share, and about 0.2 s.)
   */
  private scopes(fns: object[]): void {
    const ctx = this.subject.context;
    const sunk: unknown[] = [];
    const g = ctx as Record<string, unknown>;
    g[SINK] = (v: unknown) => {
      sunk.push(v);
    };
    g[FNS] = fns;
    try {
      const contextId = this.contextId();
      const arr = post<{ result: RemoteObject }>("Runtime.evaluate", {
        expression: FNS,
        contextId,
        objectGroup: GROUP,
      });
      if (arr.result.objectId === undefined) return;
      const items = post<GetPropertiesResult>("Runtime.getProperties", {
        objectId: arr.result.objectId,
        ownProperties: true,
      });
      const ids: string[] = [];
      for (const item of items.result) {
        if (!/^\d+$/.test(item.name) || item.value?.objectId === undefined) continue;
        const props = post<GetPropertiesResult>("Runtime.getProperties", {
          objectId: item.value.objectId,
          ownProperties: true,
        });
        const id = props.internalProperties?.find((p) => p.name === "[[Scopes]]")?.value?.objectId;
        if (id !== undefined) ids.push(id);
      }
      if (ids.length === 0) return;
      post("Runtime.callFunctionOn", {
        objectId: ids[0],
        functionDeclaration: `function () { for (var i = 0; i < arguments.length; i++) ${SINK}(arguments[i]); }`,
        arguments: ids.map((objectId) => ({ objectId })),
        silent: true,
      });
      const arrays = sunk.length === ids.length ? sunk.splice(0) : [];
      for (let i = 0; i < ids.length; i++) {
        this.countScopes(readScopeArray(arrays[i]) ?? this.readScopesSlowly(ids[i] as string, sunk));
      }
    } finally {
      delete g[SINK];
      delete g[FNS];
      try {
        post("Runtime.releaseObjectGroup", { objectGroup: GROUP });
        post("Runtime.disable", {});
      } catch {
        // the session is unusable: nothing to release
      }
    }
  }

  /** Counts one function's scopes: each scope once (by its variables and values), then its values. */
  private countScopes(scopes: readonly ScopeRead[]): void {
    for (const { desc, vars, values } of scopes) {
      const key =
        desc +
        "|" +
        vars.map((v) => v.name).join(",") +
        "|" +
        vars
          .filter((v) => !v.object)
          .map((v) => v.prim)
          .join(",") +
        "|" +
        values.map((v) => this.idOf(v)).join(",");
      if (desc.startsWith("Script")) {
        // top-level let/const: one scope for the whole context
        if (this.seenScopes.has("Script")) {
          for (const v of values) this.add(v);
          continue;
        }
        this.seenScopes.add("Script");
      } else if (this.seenScopes.has(key)) {
        continue;
      }
      this.seenScopes.add(key);
      this.blocks += desc.startsWith("Script") ? 0 : 1;
      for (const v of vars) {
        this.blocks += nameBlocks(v.name);
        if (!v.object) this.blocks += this.valueCost(v.value);
      }
      for (const v of values) this.add(v);
    }
  }

  /**
   * One function's scopes through the protocol alone (when its [[Scopes]] array is not shaped as
   * readScopeArray expects): Runtime.getProperties on each scope (slow, see scopes()), then its
   * object values through the sink.
   */
  private readScopesSlowly(scopesId: string, sunk: unknown[]): ScopeRead[] {
    const scopes = post<GetPropertiesResult>("Runtime.getProperties", {
      objectId: scopesId,
      ownProperties: true,
    });
    const out: ScopeRead[] = [];
    for (const scope of scopes.result) {
      const desc = scope.value?.description ?? "";
      const id = scope.value?.objectId;
      if (id === undefined || desc === "Global" || desc.startsWith("With")) continue;
      const vars = post<GetPropertiesResult>("Runtime.getProperties", { objectId: id, ownProperties: true });
      const list: ScopeVariable[] = [];
      const objects: RemoteObject[] = [];
      for (const v of vars.result) {
        if (v.value === undefined) continue;
        const object = v.value.objectId !== undefined;
        if (object) objects.push(v.value);
        list.push({
          name: v.name,
          object,
          prim: `${v.name}=${v.value.type}:${String(v.value.value)}`,
          value: v.value.value,
        });
      }
      sunk.splice(0);
      if (objects.length > 0) {
        post("Runtime.callFunctionOn", {
          objectId: id,
          functionDeclaration: `function () { for (var i = 0; i < arguments.length; i++) ${SINK}(arguments[i]); }`,
          arguments: objects.map((o) => ({ objectId: o.objectId })),
          silent: true,
        });
      }
      out.push({ desc, vars: list, values: sunk.splice(0) });
    }
    return out;
  }

  private idOf(v: unknown): number {
    if ((typeof v !== "object" && typeof v !== "function") || v === null) return -1;
    let n = this.identity.get(v);
    if (n === undefined) {
      n = this.identity.size;
      this.identity.set(v, n);
    }
    return n;
  }
}
