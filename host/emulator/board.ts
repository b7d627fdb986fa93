/**
 * One emulated board: its Storage file, Wi-Fi station, address on the virtual LAN, TCP console
 * and the interpreter that runs its program, with Espruino's life cycle:
 * - power-on (start, restart(), E.reboot()): a fresh context runs the saved RAM image
 *   (`.varimg`, see save()), then the Storage files `.boot0`..`.boot3`, then `.bootrst` if it
 *   exists, else `.bootcde` (the firmware: the emulator flashes `firmwarePath` there when it
 *   starts, as the upload tool's "save on send" would); then `E.on('init')` handlers run, then a
 *   global `onInit()` if one is defined ("Running onInit()..." is printed, as Espruino does);
 * - `reset()`: `E.on('kill')` handlers, sockets closed, a fresh context running only `.boot0-3`
 *   and `.bootrst` (`reset(true)` also erases the saved code), the banner, init, onInit;
 * - `save()`: kill handlers, the code typed or uploaded into RAM since the last reset is stored as
 *   `.varimg` (Espruino stores the interpreter's state itself; the emulator stores the code that
 *   built it and runs it again at power-on, so its top-level effects happen again), then init
 *   handlers and onInit in the same context;
 * - `load()`: like power-on without losing Wi-Fi; `load(file)` runs that Storage file instead;
 * - stop(): kill handlers (the firmware can say goodbye to its clients), then the sockets close
 *   once their last datagrams have left.
 * Console output goes to the TCP console and to the log.
 */

import { EventEmitter } from "node:events";
import { ConsoleServer } from "./console.js";
import { type DatagramStats, DgramModule, newDatagramStats } from "./dgram.js";
import type { GatePolicy } from "./gate.js";
import { type CodeOrigin, Interpreter, type InterpreterHost } from "./interpreter.js";
import { boardAddress } from "./lan.js";
import type { LoopStats } from "./loop.js";
import type { Profile } from "./profile.js";
import { type LineResult, Repl } from "./repl.js";
import { BoardStorage, storageModule } from "./storage.js";
import { type AccessPoint, type WifiController, WifiStation, type WifiTiming } from "./wifi.js";

/** One line of a board's log. */
export interface LogEntry {
  /** Board index (1-based). */
  readonly board: number;
  readonly address: string;
  /** "console": the program's output; "emulator": notes of the emulator (gate warnings, drops...). */
  readonly kind: "console" | "emulator";
  readonly text: string;
  /** Date.now() when logged. */
  readonly time: number;
}

export interface BoardOptions {
  /** 1-based; the board answers at 127.0.0.(index+1). */
  readonly index: number;
  readonly profile: Profile;
  /** The Storage file; undefined keeps Storage in memory. */
  readonly storagePath: string | undefined;
  /** Firmware text to flash into `.bootcde` before the first boot (undefined: keep Storage's). */
  readonly firmware: string | undefined;
  /** Console TCP port on 127.0.0.1 (0: any free port; undefined: no console). */
  readonly consolePort: number | undefined;
  readonly accessPoint: AccessPoint;
  readonly wifiTiming: Partial<WifiTiming>;
  readonly gate: GatePolicy;
  readonly evalTimeoutMs: number;
  readonly inspectClosures: boolean;
  readonly memoryBlocks: number;
  /** Files written into Storage before the first boot (e.g. syfala.json). */
  readonly files: Readonly<Record<string, string>>;
  /** Receives every log line, from the first boot on. */
  readonly onLog?: (entry: LogEntry) => void;
}

export interface BoardStats {
  readonly datagrams: Readonly<DatagramStats>;
  readonly loop: Readonly<LoopStats>;
  readonly memory: { readonly usage: number; readonly total: number; readonly free: number };
  /** Boots so far (power-on, reset, load). */
  readonly boots: number;
}

/**
 * Blocks of the dgram module's own objects once required, and of each open socket (its object,
 * the bound port's state, the receive buffer's bookkeeping), beyond what the memory walk sees:
 * measured on the Linux build 2v29, `require("dgram")` added 15 blocks, `createSocket` 21 and
 * `bind` 9 (the walk sees about 16 of these 45).
 */
const DGRAM_MODULE_BLOCKS = 10;
const SOCKET_BLOCKS = 19;

/** Banner printed on reset(), as Espruino does. */
const BANNER =
  " ____                 _\n|  __|___ ___ ___ _ _|_|___ ___\n|  __|_ -| . |  _| | | |   | . |\n" +
  "|____|___|  _|_| |___|_|_|_|___|\n         |_| espruino.com\n";

export class Board {
  readonly index: number;
  readonly address: string;
  readonly mac: string;
  readonly storage: BoardStorage;
  readonly datagrams: DatagramStats = newDatagramStats();
  /** Emits 'log' (LogEntry) for every console line and emulator note. */
  readonly events = new EventEmitter();
  private readonly station: WifiStation;
  private readonly repl: Repl;
  private consoleServer: ConsoleServer | undefined;
  private interp: Interpreter | undefined;
  private dgram: DgramModule | undefined;
  private pending: { kind: "reset" | "resetAll" | "save" | "load" | "reboot"; file?: string } | undefined;
  private ramCode: string[] = [];
  private boots = 0;
  private stopped = false;
  private readonly loops: LoopStats = { passes: 0, timersRun: 0, eventsRun: 0, uncaught: 0 };

  private constructor(private readonly opts: BoardOptions) {
    this.index = opts.index;
    this.address = boardAddress(opts.index);
    this.mac = `24:0a:c4:00:00:${opts.index.toString(16).padStart(2, "0")}`;
    this.storage = new BoardStorage(opts.storagePath);
    if (opts.onLog !== undefined) this.events.on("log", opts.onLog);
    this.station = new WifiStation(opts.accessPoint, this.address, this.mac, opts.wifiTiming);
    this.repl = new Repl({
      write: (text) => this.consoleServer?.write(text),
      evaluate: (line) => this.evaluateLine(line),
    });
  }

  /** Creates the board, flashes its files, opens its console and powers it on. */
  static async start(opts: BoardOptions): Promise<Board> {
    const b = new Board(opts);
    if (opts.firmware !== undefined) b.storage.write(".bootcde", opts.firmware);
    for (const [name, text] of Object.entries(opts.files)) b.storage.write(name, text);
    if (opts.consolePort !== undefined) {
      b.consoleServer = await ConsoleServer.listen(opts.consolePort, {
        onInput: (data) => {
          b.repl.input(data);
        },
        onConnect: () => {
          b.repl.output("<- Serial1");
          b.repl.returnInputLine();
        },
      });
    }
    b.powerOn(false);
    return b;
  }

  /** The console's TCP port on 127.0.0.1 (undefined without a console). */
  get consolePort(): number | undefined {
    return this.consoleServer?.port;
  }

  /** The Wi-Fi link controller (drop/restore/dhcpTimeout). */
  get wifi(): WifiController {
    return this.station;
  }

  get profile(): Profile {
    return this.opts.profile;
  }

  /** True while the board can send and receive (esp32: station connected; linux: always). */
  get online(): boolean {
    return !this.opts.profile.wifi || this.station.connected;
  }

  /** The running interpreter (for tests and tools). */
  get interpreter(): Interpreter | undefined {
    return this.interp;
  }

  // --- output ----------------------------------------------------------------------------------

  private log(kind: LogEntry["kind"], text: string): void {
    const entry: LogEntry = { board: this.index, address: this.address, kind, text, time: Date.now() };
    this.events.emit("log", entry);
  }

  /** Program output: to the console and the log, line by line. */
  private print(text: string): void {
    for (const line of text.split("\n")) {
      this.repl.output(line);
      this.log("console", line);
    }
  }

  private note(text: string): void {
    this.log("emulator", text);
  }

  // --- life cycle ------------------------------------------------------------------------------

  private newInterpreter(): Interpreter {
    const host: InterpreterHost = {
      profile: this.opts.profile,
      serial: this.mac.replace(/:/g, ""),
      memoryBlocks: this.opts.memoryBlocks,
      print: (text) => this.print(text),
      note: (text) => this.note(text),
      module: (name, interp) => this.module(name, interp),
      request: (kind, file) => this.request(kind, file),
      echo: (on) => {
        this.repl.echo = on;
      },
      setBootCode: (code, always) => {
        this.storage.erase(".bootcde");
        this.storage.erase(".bootrst");
        if (code !== "") this.storage.write(always ? ".bootrst" : ".bootcde", code);
      },
      nativeBlocks: () =>
        this.dgram === undefined ? 0 : DGRAM_MODULE_BLOCKS + SOCKET_BLOCKS * this.dgram.count,
      nativeRoots: () => [...(this.dgram ? [this.dgram.object] : [])],
    };
    const interp = new Interpreter(host, {
      gate: this.opts.gate,
      evalTimeoutMs: this.opts.evalTimeoutMs,
      inspectClosures: this.opts.inspectClosures,
    });
    interp.loop.onAfterPass(() => {
      this.runPending();
      this.repl.returnInputLine();
    });
    return interp;
  }

  private module(name: string, interp: Interpreter): object {
    if (name === "dgram") {
      const d = new DgramModule(interp.realm, interp.loop, {
        profile: this.opts.profile,
        address: this.address,
        stats: this.datagrams,
        online: () => this.online,
        note: (t) => this.note(t),
      });
      this.dgram = d;
      return d.object;
    }
    if (name === "Storage") return storageModule(interp.realm, this.storage);
    if (name === "Wifi") return this.station.module(interp.realm, interp.loop);
    if (name === "Flash") {
      return interp.realm.markNative(
        interp.realm.methods({
          getFree: () => interp.realm.array([]),
          getPage: () => undefined,
          read: () => {
            throw interp.realm.error("Flash is not emulated: use Storage");
          },
          write: () => {
            throw interp.realm.error("Flash is not emulated: use Storage");
          },
          erasePage: () => {
            throw interp.realm.error("Flash is not emulated: use Storage");
          },
        }),
      );
    }
    throw interp.realm.error(`Module "${name}" not found`);
  }

  /** Ends the current interpreter: optional kill handlers, sockets closed without events. */
  private shutdown(kill: boolean): void {
    const old = this.interp;
    if (old === undefined) return;
    if (kill) old.kill();
    this.accumulate(old);
    old.stop();
    this.dgram?.closeAll();
    this.dgram = undefined;
    this.station.attach(undefined);
    this.interp = undefined;
  }

  private accumulate(interp: Interpreter): void {
    const s = interp.loop.stats;
    this.loops.passes += s.passes;
    this.loops.timersRun += s.timersRun;
    this.loops.eventsRun += s.eventsRun;
    this.loops.uncaught += s.uncaught;
    s.passes = s.timersRun = s.eventsRun = s.uncaught = 0;
  }

  private runFile(interp: Interpreter, name: string, origin: CodeOrigin): void {
    const code = this.storage.read(name);
    if (code === undefined) return;
    if (origin === "ram") this.ramCode.push(code);
    interp.boot(code, name, origin);
  }

  /** Boots a fresh interpreter. `isReset`: after reset() (only .boot0-3 and .bootrst run). */
  private boot(isReset: boolean, file?: string): void {
    this.boots++;
    this.ramCode = [];
    const interp = this.newInterpreter();
    this.interp = interp;
    if (file !== undefined) {
      this.runFile(interp, file, "flash");
    } else {
      if (!isReset) this.runFile(interp, ".varimg", "ram");
      for (let i = 0; i < 4; i++) this.runFile(interp, `.boot${i}`, "flash");
      if (this.storage.read(".bootrst") !== undefined) this.runFile(interp, ".bootrst", "flash");
      else if (!isReset) this.runFile(interp, ".bootcde", "flash");
    }
    if (isReset) for (const line of BANNER.split("\n")) this.repl.output(line);
    interp.init();
  }

  private powerOn(keepWifi: boolean): void {
    if (!keepWifi) this.station.powerOff();
    this.boot(false);
  }

  private request(kind: "reset" | "resetAll" | "save" | "load" | "reboot", file?: string): void {
    this.pending = file === undefined ? { kind } : { kind, file };
    setImmediate(() => this.runPending());
  }

  /** Carries out a pending reset/save/load/reboot once the code that asked has returned. */
  private runPending(): void {
    const p = this.pending;
    if (p === undefined || this.stopped) return;
    this.pending = undefined;
    switch (p.kind) {
      case "reset":
      case "resetAll":
        this.shutdown(true);
        if (p.kind === "resetAll") {
          for (const f of [".varimg", ".bootcde", ".bootrst"]) this.storage.erase(f);
          this.print("Erasing saved code.\nDone!");
        }
        this.repl.clear();
        this.boot(true);
        break;
      case "save": {
        const interp = this.interp;
        if (interp === undefined) return;
        interp.kill();
        this.storage.write(".varimg", this.ramCode.join("\n"));
        this.print(`Saving ${this.ramCode.join("\n").length} bytes of code to flash (emulated)...\nDone!`);
        interp.init();
        break;
      }
      case "load":
        this.shutdown(true);
        this.boot(false, p.file);
        break;
      case "reboot":
        this.shutdown(false);
        this.powerOn(false);
        break;
    }
  }

  /** Runs one console line (see repl.ts). */
  private evaluateLine(line: string): LineResult {
    const interp = this.interp;
    if (interp === undefined) return { ok: false };
    const r = interp.load(line, "console", "ram");
    if (r.ok || !r.refused) this.ramCode.push(line);
    let result: LineResult;
    if (r.ok) result = { ok: true, text: Interpreter.formatResult(r.value) };
    else {
      interp.reportUncaught(r.error);
      result = { ok: false };
    }
    this.runPending();
    return result;
  }

  /**
   * Runs `code` like a console line and returns its value as the REPL would print it
   * (`=` excluded); throws an Error with Espruino's "Uncaught ..." text when it fails.
   */
  evaluate(code: string): string {
    const interp = this.interp;
    if (interp === undefined) throw new Error("board is stopped");
    const r = interp.load(code, "evaluate", "ram");
    this.runPending();
    if (r.ok) return Interpreter.formatResult(r.value);
    throw new Error(`Uncaught ${String(r.error)}`);
  }

  /** Power cycle: sockets closed (no kill handlers: the power just goes), Wi-Fi off, boot again. */
  async restart(): Promise<void> {
    if (this.stopped) throw new Error("board is stopped");
    this.pending = undefined;
    this.shutdown(false);
    this.repl.clear();
    this.powerOn(false);
  }

  /** Shuts down: kill handlers, the datagrams they send leave, sockets and console close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pending = undefined;
    const interp = this.interp;
    if (interp !== undefined) {
      interp.kill();
      await this.dgram?.drain(500);
    }
    this.shutdown(false);
    this.station.powerOff();
    await this.consoleServer?.close();
    this.consoleServer = undefined;
  }

  /** Estimated memory (process.memory()), in blocks. */
  memory(): { usage: number; total: number; free: number } {
    const total = this.opts.memoryBlocks;
    const usage = this.interp?.memoryUsage() ?? 0;
    return { usage, total, free: Math.max(0, total - usage) };
  }

  stats(): BoardStats {
    const live = this.interp?.loop.stats;
    const loop: LoopStats = {
      passes: this.loops.passes + (live?.passes ?? 0),
      timersRun: this.loops.timersRun + (live?.timersRun ?? 0),
      eventsRun: this.loops.eventsRun + (live?.eventsRun ?? 0),
      uncaught: this.loops.uncaught + (live?.uncaught ?? 0),
    };
    return { datagrams: { ...this.datagrams }, loop, memory: this.memory(), boots: this.boots };
  }
}
