/**
 * `process.memory()` for an emulated board: an ESTIMATE of the JsVar blocks that the program's
 * data and code would take on real Espruino, from a walk of what the program can reach in its V8
 * context. How it counts (Espruino's storage model, simplified; block sizes from the profile's
 * {@link BlockGeometry}: ESP32 14-byte blocks, the Linux build 27-byte ones):
 *
 * - roots: the global object's own properties that are not Espruino built-ins, the top-level
 *   `let`/`const`/`class` bindings, the callbacks of pending timers and every listener registered
 *   on built-in objects (sockets, `E`, `process`, Wi-Fi); each object is counted once;
 * - a property or array element: its name (1 block up to `nameChars`, +1 per `extChars`), plus
 *   its value; integers, booleans, null and undefined are packed into the name block (0 more);
 *   other numbers take 1 block, a string 1 block (`stringChars`) +1 per `extChars` more;
 * - an object or array: 1 block + its properties; its prototype when it is not a built-in (class
 *   prototypes with their methods); a Date 2, a Promise 3, a RegExp 1 + its source;
 * - an ArrayBuffer of n bytes: 1 + a flat string (1 + ceil(n / flatBytes)), a typed array or
 *   DataView 1 more (`new Uint8Array(1400)` is 103 on ESP32, 55 on the Linux build, measured);
 * - a function: 1 block + 1 per parameter name + its properties + its code, from its text
 *   ({@link functionShape}; a class's code is its constructor's): code that came from Storage
 *   (the firmware booted from `.bootcde`) stays in flash and costs 2 blocks; code uploaded into
 *   RAM (the console, a file run directly) keeps its body, tokenised as `pretokenise` does
 *   ({@link tokenisedLength}), in a plain or flat string, whichever is fewer blocks
 *   ({@link ramCodeBlocks}); an empty body costs nothing. Plus, for a closure, 1 block for the
 *   scope link and the variables it captures. V8 does not expose closure variables to scripts,
 *   so they are read through the inspector protocol (node:inspector, synchronous on the main
 *   thread); V8 keeps only the variables a closure actually uses (Espruino keeps the whole
 *   scope), and two closures with equal primitive variables are counted once: closures are
 *   slightly UNDER-estimated;
 * - plus a fixed base for the interpreter itself ({@link BASE_BLOCKS}), the built-in classes the
 *   loaded code names ({@link builtInBlocks}), and what the board adds for its built-in objects
 *   (the dgram module and each open socket, board.ts).
 *
 * Calibration and tolerance: against Espruino 2v29's Linux build (the real-interpreter tier,
 * test/real/memory-calibration.test.ts, which runs both in one run and asserts it), with the
 * same firmware file (build/firmware/syfala.min.js and the msgpack build) and configuration, idle
 * and with one client streaming, code from RAM and from flash, the estimate is within 15 % of
 * `process.memory().usage` (measured 4-10 % under at commit time: the closure under-count above
 * and interpreter internals that are not modelled). The ESP32 profile uses the same model with
 * ESP32's block geometry, which is not measured on a board: expect more error there.
 *
 * Cost: one walk per call. Without closures (`inspectClosures: false`) under 1 ms; with them, one
 * inspector request per function reached plus one for all their scopes, about 15-30 ms for the
 * 40 KB firmware (153 functions; 0.2 s before the scopes were read in Node instead of through
 * Runtime.getProperties). The board's loop stalls that long. Function texts are parsed once
 * (cached).
 */

import inspector from "node:inspector";
import type vm from "node:vm";
import { type Node, parseExpressionAt, tokenizer } from "acorn";
import { EQUALITY_HELPERS } from "./equality.js";
import { type BlockGeometry, ESP32_BLOCKS } from "./profile.js";

/** Blocks Espruino uses for itself before any program (root, timer and watch arrays, modules). */
export const BASE_BLOCKS = 40;
/** Blocks for a function's code kept in flash: its code entry and the reference into flash. */
const FLASH_CODE_BLOCKS = 2;

/** Blocks of a string of `n` characters. */
export function stringBlocks(n: number, g: BlockGeometry = ESP32_BLOCKS): number {
  return 1 + Math.ceil(Math.max(0, n - g.stringChars) / g.extChars);
}

/** Blocks of a flat string of `n` bytes: one header, then `flatBytes` per block. */
export function flatBlocks(n: number, g: BlockGeometry = ESP32_BLOCKS): number {
  return 1 + Math.ceil(n / g.flatBytes);
}

function nameBlocks(name: string, g: BlockGeometry): number {
  return 1 + Math.ceil(Math.max(0, name.length - g.nameChars) / g.extChars);
}

/**
 * Blocks of a function's code kept in RAM: its code entry (1) and the code text, a plain
 * string or, when that is fewer blocks, a flat one (as Espruino picks); nothing for empty code.
 * Measured on the Linux build: `function f(a){return a+a...}` of 20, 60, 200, 800, 3,200
 * characters took 4, 6, 12, 34, 123 blocks (1 + 1 per parameter + this).
 */
export function ramCodeBlocks(bytes: number, g: BlockGeometry = ESP32_BLOCKS): number {
  if (bytes === 0) return 0;
  return 1 + Math.min(stringBlocks(bytes, g), flatBlocks(bytes, g));
}

/** What Espruino keeps of a function: its parameter names and its code's length, tokenised. */
export interface FunctionShape {
  readonly params: readonly string[];
  /** Bytes of the body as Espruino stores it with `pretokenise` (see {@link tokenisedLength}). */
  readonly codeBytes: number;
}

const HELPERS = new Set<string>(Object.values(EQUALITY_HELPERS));
const NO_CODE: FunctionShape = { params: [], codeBytes: 0 };
const shapes = new Map<string, FunctionShape>();

/**
 * The length of `code` once Espruino tokenised it (`E.setFlags({pretokenise:1})`, which the
 * firmware sets first): no white space or comments, each keyword and operator one byte,
 * identifiers and numbers as their text, a string literal as its text (a token, a length, the
 * characters). The loader's equality rewrite (`ǀ(a,b)` for `a===b`, equality.ts) is taken back:
 * 3 bytes less per helper call. Measured on the Linux build: 106 copies of
 * `if(a){return a}else{return a}` (3,074 characters) were 1,378 bytes (13 per copy).
 */
export function tokenisedLength(code: string): number {
  let n = 0;
  try {
    for (const t of tokenizer(code, { ecmaVersion: "latest", allowReturnOutsideFunction: true })) {
      const label = t.type.label;
      if (label === "name") {
        const name = code.slice(t.start, t.end);
        n += HELPERS.has(name) ? -2 : name.length;
      } else if (label === "num" || label === "string" || label === "regexp" || label === "template") {
        n += t.end - t.start;
      } else n += 1; // a keyword or an operator: one token byte
    }
  } catch {
    return code.replace(/\s+/g, "").length;
  }
  return n;
}

/**
 * Built-in classes that cost blocks once code names one: Espruino then makes the class's object
 * (a native function with its prototype) and keeps it in its root. Measured on the Linux build
 * 2v29 in the firmware's root: Object, Function, String, Array, Error, RegExp 7 blocks each,
 * ArrayBuffer, DataView and each typed array 8, plus ArrayBufferView 8 once any typed array is
 * used. Other built-ins (Math, JSON, E's functions...) cost about 0-2 and are not counted.
 */
const BUILT_IN_CLASS_BLOCKS: Readonly<Record<string, number>> = {
  Object: 7,
  Function: 7,
  String: 7,
  Array: 7,
  Error: 7,
  RegExp: 7,
  Number: 7,
  Boolean: 7,
  Date: 7,
  Promise: 7,
  TypeError: 7,
  ArrayBuffer: 8,
  DataView: 8,
  Uint8Array: 8,
  Int8Array: 8,
  Uint8ClampedArray: 8,
  Uint16Array: 8,
  Int16Array: 8,
  Uint32Array: 8,
  Int32Array: 8,
  Float32Array: 8,
  Float64Array: 8,
};
const TYPED_ARRAY = /^(Uint|Int|Float)(8|16|32|64)(Clamped)?Array$/;
/** ArrayBufferView, made once along with the first typed array class. */
const ARRAY_BUFFER_VIEW_BLOCKS = 8;

/** The built-in classes of {@link BUILT_IN_CLASS_BLOCKS} that `code` names. */
export function builtInsNamed(code: string): Set<string> {
  const names = new Set<string>();
  try {
    for (const t of tokenizer(code, { ecmaVersion: "latest", allowReturnOutsideFunction: true })) {
      if (t.type.label !== "name") continue;
      const name = code.slice(t.start, t.end);
      if (Object.hasOwn(BUILT_IN_CLASS_BLOCKS, name)) names.add(name);
    }
  } catch {
    // unparsable: the gate or V8 reports it
  }
  return names;
}

/** Blocks of the built-in classes `named` (see {@link BUILT_IN_CLASS_BLOCKS}). */
export function builtInBlocks(named: ReadonlySet<string>): number {
  let n = 0;
  let typed = false;
  for (const name of named) {
    n += BUILT_IN_CLASS_BLOCKS[name] ?? 0;
    typed ||= TYPED_ARRAY.test(name);
  }
  return n + (typed ? ARRAY_BUFFER_VIEW_BLOCKS : 0);
}

function shapeOf(fn: Node | undefined, text: string, offset: number): FunctionShape {
  if (fn === undefined) return NO_CODE;
  const f = fn as Node & { params: Node[]; body: Node & { type: string; body?: Node[] } };
  const params = f.params.map((p) =>
    p.type === "Identifier"
      ? (p as Node & { name: string }).name
      : text.slice(p.start - offset, p.end - offset),
  );
  const body = f.body;
  let code = text.slice(body.start - offset, body.end - offset);
  if (body.type === "BlockStatement") code = code.slice(1, -1);
  return { params, codeBytes: tokenisedLength(code) };
}

/**
 * The parameters and tokenised body length of a function from its text (V8's
 * `Function.prototype.toString`): a function or arrow, a method or accessor (`m(a){...}`), or a
 * class, whose text is the whole class: its constructor's (the methods are functions of their
 * own, on the prototype). Unparsable text counts as code of its own length without parameters.
 */
export function functionShape(text: string): FunctionShape {
  const known = shapes.get(text);
  if (known !== undefined) return known;
  let shape: FunctionShape;
  try {
    const e = parseExpressionAt(`(${text})`, 0, { ecmaVersion: "latest" }) as Node & { expression?: Node };
    const x = e as Node & { type: string; body?: Node & { body: Node[] } };
    if (x.type === "ClassExpression") {
      const ctor = x.body?.body.find((m) => (m as Node & { kind?: string }).kind === "constructor") as
        | (Node & { value: Node })
        | undefined;
      shape = shapeOf(ctor?.value, text, 1);
    } else shape = shapeOf(x, text, 1);
  } catch {
    try {
      const o = parseExpressionAt(`({${text}})`, 0, { ecmaVersion: "latest" }) as Node & {
        properties: (Node & { value: Node })[];
      };
      shape = shapeOf(o.properties[0]?.value, text, 2);
    } catch {
      shape = { params: [], codeBytes: tokenisedLength(text) };
    }
  }
  if (shapes.size > 10000) shapes.clear();
  shapes.set(text, shape);
  return shape;
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
  /** How the build fills its blocks (the board profile's). Defaults to ESP32's. */
  readonly blocks?: BlockGeometry;
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
  private readonly g: BlockGeometry;

  /**
   * `skipScript`: leave the top-level let/const/class bindings out (E.getSizeOf: on Espruino they
   * are globals, which a function does not link to).
   */
  constructor(
    private readonly subject: MemorySubject,
    private readonly skipScript = false,
  ) {
    this.g = subject.blocks ?? ESP32_BLOCKS;
  }

  /** Blocks of a property name (with a packed value). */
  nameBlocks(name: string): number {
    return nameBlocks(name, this.g);
  }

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
    if (typeof v === "string") return stringBlocks(v.length, this.g);
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
      return 1 + flatBlocks((o as ArrayBuffer).byteLength, this.g);
    }
    if (ArrayBuffer.isView(o)) return 1 + this.objectCost(o.buffer) + this.propsCost(o, true);
    if (tag === "Date") return 2;
    if (tag === "Promise") return 3;
    if (tag === "RegExp") return 1 + stringBlocks((o as RegExp).source.length, this.g);
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
      if (
        typeof o === "function" &&
        (key === "length" || key === "name" || key === "prototype" || key === "arguments" || key === "caller")
      ) {
        if (key === "prototype" && d.value !== undefined && this.hasOwnData(d.value)) {
          cost += nameBlocks(key, this.g) + this.valueCost(d.value);
        }
        continue;
      }
      if (Array.isArray(o) && key === "length") continue;
      cost += nameBlocks(key, this.g);
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
      if (d !== undefined && "value" in d) cost += nameBlocks(key, this.g) + this.valueCost(d.value);
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
    const shape = functionShape(text);
    let code = 0;
    if (shape.codeBytes > 0) {
      code = this.subject.isFlashCode(text) ? FLASH_CODE_BLOCKS : ramCodeBlocks(shape.codeBytes, this.g);
    }
    let params = 0;
    for (const p of shape.params) params += nameBlocks(p, this.g);
    this.pendingFunctions.push(f);
    return 1 + params + code + this.propsCost(f, false);
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
      if (desc.startsWith("Script") && this.skipScript) continue;
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
        this.blocks += nameBlocks(v.name, this.g);
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
