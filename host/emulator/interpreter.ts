/**
 * One run of the interpreter between two resets: a realm (context.ts) with Espruino's globals,
 * its loop (loop.ts), the loader with the subset gate (gate.ts), and the boot hooks. A board
 * (board.ts) makes a new Interpreter at power-on, `reset()` and `load()`; the old one is stopped.
 *
 * Globals: `print`, `console.log/info/warn/error/debug/trace`, `setTimeout`, `setInterval`,
 * `clearTimeout`, `clearInterval`, `changeInterval` (numbers as ids; `clearTimeout(undefined)`
 * throws and `clearTimeout()` clears every timer, as on Espruino; a string callback is evaluated),
 * `getTime`/`setTime`, `setWatch`/`clearWatch` and the pin functions (harmless no-ops: no pins),
 * `save`, `reset`, `load`, `echo`, `require` (the emulated modules, then `Modules.addCached`
 * ones; anything else throws `Module "x" not found`), `Modules`, `atob`/`btoa`, `global`, `E`,
 * `process` and, on the esp32 profile, `ESP32`. See ../README.md for the fidelity notes.
 */

import { type BuiltinDeps, makeE, makeEsp32, makeProcess } from "./builtins.js";
import { binaryString, Realm, stringBytes } from "./context.js";
import { rewriteEqualityCached } from "./equality.js";
import { formatArgs, formatJson, formatUncaught } from "./format.js";
import { type GatePolicy, gate } from "./gate.js";
import { EventLoop } from "./loop.js";
import { BASE_BLOCKS, builtInBlocks, builtInsNamed, MemoryWalk } from "./memory.js";
import { modulesOf, type Profile } from "./profile.js";

/** What a board does for its interpreter. */
export interface InterpreterHost {
  readonly profile: Profile;
  /** `process.env.SERIAL`. */
  readonly serial: string;
  /** Total blocks `process.memory()` reports. */
  readonly memoryBlocks: number;
  /** Console output of the program: one chunk of text, without the final newline. */
  print(text: string): void;
  /** A note for the emulator's log (not the console): gate warnings and the like. */
  note(text: string): void;
  /** The emulated module `name` for this interpreter (dgram, Wifi, Storage, Flash). */
  module(name: string, interp: Interpreter): object;
  /** `reset()`, `save()`, `load()`, `E.reboot()`: done by the board once the current code returns. */
  request(kind: "reset" | "resetAll" | "save" | "load" | "reboot", file?: string): void;
  /** `echo(on)`. */
  echo(on: boolean): void;
  /** `E.setBootCode(code, alwaysRun)`. */
  setBootCode(code: string, alwaysRun: boolean): void;
  /** Blocks the board's built-in objects take (open sockets...), for process.memory(). */
  nativeBlocks(): number;
  /** Built-in objects holding listeners (sockets, the Wi-Fi module...), for process.memory(). */
  nativeRoots(): unknown[];
}

/** Where a chunk of code comes from: flash (Storage, boot) or RAM (typed or uploaded). */
export type CodeOrigin = "flash" | "ram";

export type LoadResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown; readonly refused: boolean };

export interface InterpreterOptions {
  /** Gate policy for every chunk. Defaults to "syntax". */
  readonly gate: GatePolicy;
  /** Longest a chunk (boot code, a console line) may run, in ms; 0 for no limit. Defaults to 10000. */
  readonly evalTimeoutMs: number;
  /** Count closure variables through the inspector in process.memory(). Defaults to true. */
  readonly inspectClosures: boolean;
}

const SCRIPT_PREFIX = "emu:";

/** Interpreters whose loop runs (for unhandled promise rejections). */
const live = new Set<Interpreter>();

/**
 * Routes unhandled promise rejections of emulated programs to their board's console, as
 * Espruino prints them ("Uncaught Error: Unhandled promise rejection: ..."), instead of letting
 * Node end the process; a rejection from anything else is thrown again (Node's default). For
 * long-running tools (`syfala emulate`); returns the function that removes the handler. Test
 * runners have their own handler, which still sees the firmware's rejections.
 */
export function routeUnhandledRejections(): () => void {
  const handler = (reason: unknown, promise: Promise<unknown>): void => {
    for (const interp of live) {
      if (promise instanceof interp.realm.kit.Promise) {
        interp.reportUncaught(interp.realm.error(`Unhandled promise rejection: ${String(reason)}`));
        return;
      }
    }
    throw reason;
  };
  process.on("unhandledRejection", handler);
  return () => {
    process.off("unhandledRejection", handler);
  };
}

export class Interpreter {
  readonly realm: Realm;
  readonly loop: EventLoop;
  readonly processObject: Record<string, unknown>;
  readonly espruinoE: Record<string, unknown>;
  private readonly esp32: Record<string, unknown> | undefined;
  private readonly opts: InterpreterOptions;
  private readonly flashCode: string[] = [];
  private readonly flashCache = new Map<string, boolean>();
  private readonly errorFlags = new Set<string>();
  /** Built-in classes the loaded code names (for process.memory()). */
  private readonly builtInsNamed = new Set<string>();
  private readonly modules = new Map<string, unknown>();
  private readonly cached = new Map<string, unknown>();
  private timeOffsetMs = 0;
  private watchId = 1;

  constructor(
    private readonly host: InterpreterHost,
    options: Partial<Readonly<InterpreterOptions>> = {},
  ) {
    this.opts = {
      gate: options.gate ?? "syntax",
      evalTimeoutMs: options.evalTimeoutMs ?? 10000,
      inspectClosures: options.inspectClosures ?? true,
    };
    this.realm = new Realm();
    this.loop = new EventLoop((e) => this.reportUncaught(e));
    const deps: BuiltinDeps = {
      realm: this.realm,
      host,
      takeErrorFlags: () => {
        const flags = [...this.errorFlags];
        this.errorFlags.clear();
        return flags;
      },
      sizeOf: (v) => this.sizeOf(v),
      memory: () => this.memoryObject(),
    };
    this.espruinoE = makeE(deps);
    this.processObject = makeProcess(deps);
    this.esp32 = host.profile.wifi ? makeEsp32(deps) : undefined;
    this.installGlobals();
    this.realm.sealBuiltIns();
    live.add(this);
  }

  // --- loading -----------------------------------------------------------------------------

  /**
   * Gates and runs `code` at global scope, its equality operators rewritten to compare as
   * Espruino's (equality.ts). A refused chunk does not run and gives a SyntaxError of the realm;
   * a throw is returned, not reported (the caller decides).
   */
  load(code: string, file: string, origin: CodeOrigin): LoadResult {
    const checked = gate(code, file, this.opts.gate);
    for (const w of checked.warnings) {
      this.host.note(`gate: ${file}:${w.line}:${w.column}: ${w.construct}: ${w.message}`);
    }
    const first = checked.refused[0];
    if (first !== undefined) {
      const error = new (this.realm.global.SyntaxError as ErrorConstructor)(
        `${first.message} (${first.construct} at ${file}:${first.line}:${first.column})`,
      );
      return { ok: false, error, refused: true };
    }
    this.noteBuiltInsNamed(code);
    // What runs (and what functions' text shows) is the rewritten code.
    const run = rewriteEqualityCached(code);
    if (origin === "flash") {
      this.flashCode.push(run);
      this.flashCache.clear();
    }
    try {
      const timeout = this.opts.evalTimeoutMs > 0 ? this.opts.evalTimeoutMs : undefined;
      return { ok: true, value: this.realm.run(run, SCRIPT_PREFIX + file, timeout) };
    } catch (error) {
      return { ok: false, error, refused: false };
    }
  }

  /** Loads `code` and reports a failure as an uncaught exception (boot code). */
  boot(code: string, file: string, origin: CodeOrigin): boolean {
    const r = this.load(code, file, origin);
    if (!r.ok) this.reportUncaught(r.error);
    return r.ok;
  }

  /**
   * Boot events: `E.on('init')` handlers, then a global `onInit()` if defined, announced by
   * "Running onInit()..." (Espruino's order and message).
   */
  init(): void {
    this.loop.guard(() => this.realm.emit(this.espruinoE, "init", []));
    const onInit = this.realm.global.onInit;
    if (onInit !== undefined) this.host.print("Running onInit()...");
    if (typeof onInit === "function") {
      this.loop.guard(() => {
        (onInit as () => void).call(undefined);
      });
    } else if (typeof onInit === "string") {
      this.loop.guard(() => this.realm.kit.evaluate(onInit));
    }
  }

  /** Shutdown event: `E.on('kill')` handlers (before reset, save, load, power-off). */
  kill(): void {
    this.loop.guard(() => this.realm.emit(this.espruinoE, "kill", []));
  }

  /** Stops the loop: nothing of this interpreter runs any more. */
  stop(): void {
    this.loop.stop();
    live.delete(this);
  }

  /** Reports an exception as Espruino does: process 'uncaughtException' handlers, else the console. */
  reportUncaught(e: unknown): void {
    if (this.realm.listeners(this.processObject, "uncaughtException").length > 0) {
      try {
        this.realm.emit(this.processObject, "uncaughtException", [e]);
        return;
      } catch (e2) {
        e = e2;
      }
    }
    this.host.print(formatUncaught(e, SCRIPT_PREFIX));
  }

  /** Raises an Espruino error flag (E.getErrorFlags, E.on('errorFlag')). */
  raiseErrorFlag(flag: string): void {
    if (this.errorFlags.has(flag)) return;
    this.errorFlags.add(flag);
    this.loop.post(() => this.realm.emit(this.espruinoE, "errorFlag", [this.realm.array([flag])]));
  }

  // --- memory --------------------------------------------------------------------------------

  /** Estimated blocks in use (see memory.ts). */
  memoryUsage(): number {
    const walk = this.newWalk();
    const g = this.realm.global;
    for (const k of Object.getOwnPropertyNames(g)) {
      if (this.realm.initialGlobals.has(k) && !this.isUserValue(g[k])) continue;
      walk.blocks += walk.nameBlocks(k);
      walk.add(g[k]);
    }
    walk.add(this.espruinoE);
    walk.add(this.processObject);
    for (const r of this.host.nativeRoots()) walk.add(r);
    for (const cb of this.loop.timerCallbacks()) {
      walk.blocks += 4;
      walk.add(cb);
    }
    walk.finish(this.opts.inspectClosures);
    return BASE_BLOCKS + walk.blocks + this.host.nativeBlocks() + builtInBlocks(this.builtInsNamed);
  }

  /** Records the built-in classes `code` names (each costs blocks once named, memory.ts). */
  private noteBuiltInsNamed(code: string): void {
    for (const name of builtInsNamed(code)) this.builtInsNamed.add(name);
  }

  /** E.getSizeOf(v). */
  sizeOf(v: unknown): number {
    const walk = this.newWalk(true);
    walk.add(v);
    return Math.max(1, walk.finish(this.opts.inspectClosures));
  }

  private isUserValue(v: unknown): boolean {
    return (typeof v === "object" || typeof v === "function") && v !== null && !this.realm.isBuiltIn(v);
  }

  private newWalk(skipScript = false): MemoryWalk {
    const realm = this.realm;
    return new MemoryWalk(
      {
        context: realm.context,
        contextName: realm.name,
        isBuiltIn: (o) => realm.isBuiltIn(o),
        isNative: (o) => realm.isNative(o),
        isFlashCode: (text) => this.isFlashCode(text),
        blocks: this.host.profile.blocks,
      },
      skipScript,
    );
  }

  private isFlashCode(text: string): boolean {
    let r = this.flashCache.get(text);
    if (r === undefined) {
      r = this.flashCode.some((c) => c.includes(text));
      this.flashCache.set(text, r);
    }
    return r;
  }

  private memoryObject(): Record<string, unknown> {
    const total = this.host.memoryBlocks;
    const usage = this.memoryUsage();
    if (usage > total) this.raiseErrorFlag("LOW_MEMORY");
    return this.realm.object({
      free: Math.max(0, total - usage),
      usage,
      total,
      history: 0,
      gc: 0,
      gctime: 0,
      blocksize: this.host.profile.blockBytes,
    });
  }

  // --- globals -------------------------------------------------------------------------------

  private print(args: ArrayLike<unknown>): void {
    this.host.print(formatArgs(args));
  }

  private timer(args: ArrayLike<unknown>, repeat: boolean): number {
    const cb = args[0];
    const ms = Number(args[1] ?? 0);
    const extra = Array.from(args).slice(2);
    let run: () => void;
    if (typeof cb === "function") run = () => void (cb as (...a: unknown[]) => unknown)(...extra);
    else if (typeof cb === "string") run = () => void this.realm.kit.evaluate(cb);
    else throw this.realm.error("Function or String not supplied!");
    return this.loop.addTimer(run, ms, repeat, cb);
  }

  private clearTimer(args: ArrayLike<unknown>, name: string): void {
    if (args.length === 0) {
      this.loop.clearTimer();
      return;
    }
    const id = args[0];
    if (id === undefined) throw this.realm.error(`${name}(undefined) not allowed. Use ${name}() instead.`);
    this.loop.clearTimer(Number(id));
  }

  private require(name: unknown): unknown {
    const n = String(name);
    const fromCache = this.cached.get(n);
    if (fromCache !== undefined) return fromCache;
    const known = this.modules.get(n);
    if (known !== undefined) return known;
    if (!modulesOf(this.host.profile).includes(n)) throw this.realm.error(`Module "${n}" not found`);
    const m = n === "ESP32" ? this.realm.global.ESP32 : this.host.module(n, this);
    this.modules.set(n, m);
    return m;
  }

  private addCached(name: unknown, body: unknown): void {
    let source: string;
    if (typeof body === "function") {
      const text = Function.prototype.toString.call(body);
      source = text.slice(text.indexOf("{") + 1, text.lastIndexOf("}"));
    } else {
      source = String(body);
    }
    const make = this.realm.run(
      rewriteEqualityCached(`(function (exports, module) {\n${source}\n})`),
      `${SCRIPT_PREFIX}module:${String(name)}`,
    ) as (exports: object, module: object) => void;
    const exports = this.realm.object();
    const module = this.realm.object({ exports });
    make(exports, module);
    this.cached.set(String(name), module.exports);
  }

  private installGlobals(): void {
    const r = this.realm;
    const f = (h: (args: ArrayLike<unknown>) => unknown) => r.fn((_self, args) => h(args));
    r.define("global", r.global);
    r.define(
      "print",
      f((a) => this.print(a)),
    );
    const consoleObj = r.object();
    for (const k of ["log", "info", "warn", "error", "debug", "trace"]) {
      Object.defineProperty(consoleObj, k, {
        value: f((a) => this.print(a)),
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
    r.define("console", consoleObj);
    r.define(
      "setTimeout",
      f((a) => this.timer(a, false)),
    );
    r.define(
      "setInterval",
      f((a) => this.timer(a, true)),
    );
    r.define(
      "clearTimeout",
      f((a) => this.clearTimer(a, "clearTimeout")),
    );
    r.define(
      "clearInterval",
      f((a) => this.clearTimer(a, "clearInterval")),
    );
    r.define(
      "changeInterval",
      f((a) => {
        this.loop.changeInterval(Number(a[0]), Number(a[1]));
      }),
    );
    r.define(
      "getTime",
      f(() => (Date.now() + this.timeOffsetMs) / 1000),
    );
    r.define(
      "setTime",
      f((a) => {
        this.timeOffsetMs = Number(a[0]) * 1000 - Date.now();
      }),
    );
    r.define(
      "setWatch",
      f(() => this.watchId++),
    );
    for (const name of ["clearWatch", "digitalWrite", "pinMode", "analogWrite", "digitalPulse"]) {
      r.define(
        name,
        f(() => undefined),
      );
    }
    r.define(
      "digitalRead",
      f(() => 0),
    );
    r.define(
      "analogRead",
      f(() => 0),
    );
    r.define(
      "save",
      f(() => this.host.request("save")),
    );
    r.define(
      "reset",
      f((a) => this.host.request(a[0] ? "resetAll" : "reset")),
    );
    r.define(
      "load",
      f((a) => this.host.request("load", a[0] === undefined ? undefined : String(a[0]))),
    );
    r.define(
      "echo",
      f((a) => this.host.echo(Boolean(a[0]))),
    );
    r.define(
      "require",
      f((a) => this.require(a[0])),
    );
    r.define(
      "Modules",
      r.methods({
        addCached: (name, body) => this.addCached(name, body),
        removeCached: (name) => void this.cached.delete(String(name)),
        removeAllCached: () => this.cached.clear(),
        getCached: () => r.array([...this.cached.keys()]),
      }),
    );
    r.define(
      "btoa",
      f((a) => Buffer.from(stringBytes(String(a[0]))).toString("base64")),
    );
    r.define(
      "atob",
      f((a) => binaryString(Buffer.from(String(a[0]), "base64"))),
    );
    r.define("E", this.espruinoE);
    r.define("process", this.processObject);
    if (this.esp32 !== undefined) r.define("ESP32", this.esp32);
  }

  /** `formatJson` for the REPL's `=value` line. */
  static formatResult(v: unknown): string {
    return formatJson(v, { dropQuotes: true });
  }
}
