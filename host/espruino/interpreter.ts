/**
 * One board as a real Espruino interpreter process (the Linux build, `espruino`): its own
 * temporary working directory (Storage is `./espruino.flash` there), Storage files such as
 * syfala.json written before it starts, standard input held open (at end of input its console
 * thread spins and breaks the REPL), its console output captured line by line, and optionally
 * its `--telnet` console, reached with the project's {@link BoardConsole} (host/board/console.ts),
 * through which {@link EspruinoInterpreter.health} reads `process.memory().usage` and
 * `E.getErrorFlags()`.
 *
 * Facts this relies on (the interpreter's own README): `espruino FILE` runs a file, `espruino`
 * alone is the REPL and first runs `.boot0` and `.bootcde` from Storage, `espruino -e CODE`
 * evaluates and exits; `--telnet` serves the console on TCP port 2323, a FIXED port, so only one
 * instance per network namespace may have it; while a telnet client is connected the console
 * (the program's output included) goes there instead of standard output; `dgram`'s bind(port)
 * binds every interface, so two instances need two ports; any open UDP socket makes the process
 * busy-poll a whole core; SIGKILL is a safe way to stop it.
 *
 * The emulated Wi-Fi ({@link EmulatedWifi}) is a prelude only the emulator adds: it is put in
 * front of the program file (a file run directly does not run `.boot0`) and stored as `.boot0`
 * (so that it is there again after `reset()`, and when the REPL boots a program saved in flash).
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BoardConsole, BoardError, cleanLines, jsLiteral } from "../board/console.js";
import { type Link, openLink } from "../board/link.js";
import { type EmulatedWifi, wifiPrelude } from "./wifi-prelude.js";

/**
 * The board file for the upload tool (`--board`) when it talks to the interpreter: what
 * `process.env` there says (Linux build, 2v29, its modules), plus `Wifi`, which the emulator's
 * prelude supplies and the firmware requires (so the tool does not try to look it up).
 */
export const LINUX_BOARD_FILE = new URL("./LINUX.json", import.meta.url).pathname;

/** The `--telnet` console's port (fixed in the interpreter). */
export const TELNET_PORT = 2323;
/** The Storage file that tells this process's interpreter from another one on port 2323. */
const ID_FILE = "host.id";

/** One line the interpreter printed. */
export interface InterpreterLine {
  /** ms since the interpreter (this run of it) started. */
  readonly t: number;
  /**
   * `console`: the program's and the REPL's output (standard output, or the telnet console while
   * it is connected); `interpreter`: the Linux build's own notes (`espruino: ...` on stderr).
   */
  readonly kind: "console" | "interpreter";
  readonly text: string;
}

/** What a board's memory and error flags read back as. */
export interface Health {
  /** `process.memory().usage`: JsVar blocks in use. */
  readonly usage: number;
  /** `process.memory().total` (the Linux build grows it: 4,096 at start, then 16,384...). */
  readonly total: number;
  /** `E.getErrorFlags()` (which also clears them). */
  readonly errorFlags: readonly string[];
}

export interface InterpreterOptions {
  /** The `espruino` binary (the CLI and tests take it from ESPRUINO_BIN or --espruino-bin). */
  readonly bin: string;
  /** The file to run (`espruino [--telnet] FILE`). Undefined: the REPL, which boots what Storage holds. */
  readonly program?: string;
  /** Storage files written before the start (name to binary string), e.g. syfala.json. */
  readonly files?: Readonly<Record<string, string>>;
  /** The firmware's configuration, written as syfala.json (after `files`). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Serve the console on TCP 127.0.0.1:2323 (`--telnet`). Defaults to false. */
  readonly telnet?: boolean;
  /** An emulated Wi-Fi access point (a prelude, see the file comment). Undefined: none (`require("Wifi")` throws). */
  readonly wifi?: EmulatedWifi;
  /** The working directory. Defaults to a fresh temporary one, removed by {@link EspruinoInterpreter.stop}. */
  readonly dir?: string;
  /** Called with every line (also kept in {@link EspruinoInterpreter.lines}). */
  readonly onLine?: (line: InterpreterLine) => void;
}

/**
 * The interpreter processes this process started and has not seen end. At the end of this
 * process they are killed: an orphaned interpreter's standard input reaches end of file, and it
 * then spins at 100 % of a core for ever (its README).
 */
const live = new Set<ChildProcess>();
let reaperInstalled = false;

function reapOnExit(child: ChildProcess): void {
  live.add(child);
  child.on("exit", () => live.delete(child));
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.on("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

/** Lines kept in {@link EspruinoInterpreter.lines}; older ones are dropped. */
const KEEP_LINES = 5000;

/** Runs `espruino -e CODE` in `dir` (no standard input needed: it exits). Throws when it fails. */
export function evaluateOnce(bin: string, dir: string, code: string): string {
  const r = spawnSync(bin, ["-e", code], { cwd: dir, encoding: "latin1", timeout: 10000, stdio: "pipe" });
  if (r.error !== undefined) throw new Error(`cannot run ${bin}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${bin} -e failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}`);
  if (/Uncaught /.test(r.stdout)) {
    throw new Error(`${bin} -e: ${/Uncaught [^\r\n]*/.exec(r.stdout)?.[0] ?? "an exception"}`);
  }
  return r.stdout;
}

/** Writes Storage files into `dir`'s espruino.flash with one `espruino -e` run. */
export function writeStorage(bin: string, dir: string, files: Readonly<Record<string, string>>): void {
  const code = Object.entries(files)
    .map(([name, text]) => `require("Storage").write(${jsLiteral(name)},${jsLiteral(text)});`)
    .join("");
  if (code !== "") evaluateOnce(bin, dir, code);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A running (or stopped) interpreter. */
export class EspruinoInterpreter {
  /** Every line printed, across restarts (the last {@link KEEP_LINES}). */
  readonly lines: InterpreterLine[] = [];
  /** Lines received so far, counting the dropped ones: a position for {@link waitForLine}. */
  private count = 0;
  private readonly waiters = new Set<() => void>();
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private started = 0;
  private stdoutRest = "";
  /** The current process printed something on standard output. */
  private spoke = false;
  private telnetRest = "";
  private link: Link | undefined;
  private con: BoardConsole | undefined;
  private readonly ownDir: boolean;
  private readonly id = randomBytes(6).toString("hex");
  /** The program run by the current process (undefined: the REPL). */
  program: string | undefined;
  /** Why the process ended, when it ended by itself. */
  exitReason: string | undefined;

  private constructor(
    private readonly options: InterpreterOptions,
    readonly dir: string,
  ) {
    this.ownDir = options.dir === undefined;
    this.program = options.program;
  }

  /** Prepares the directory and Storage, then starts the process. Throws when it cannot start. */
  static async start(options: InterpreterOptions): Promise<EspruinoInterpreter> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), "syfala-espruino-"));
    const it = new EspruinoInterpreter(options, dir);
    try {
      const files: Record<string, string> = { ...(options.files ?? {}), [ID_FILE]: it.id };
      if (options.config !== undefined) files["syfala.json"] = JSON.stringify(options.config);
      if (options.wifi !== undefined) files[".boot0"] = wifiPrelude(options.wifi);
      writeStorage(options.bin, dir, files);
      await it.launch();
    } catch (e) {
      if (it.ownDir) rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return it;
  }

  /** The process id (undefined when not running). */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The console over telnet, once {@link openConsole} opened it. */
  get console(): BoardConsole | undefined {
    return this.con;
  }

  /** The number of lines received so far (a position for {@link waitForLine} and {@link linesSince}). */
  mark(): number {
    return this.count;
  }

  /** The console lines' text from position `from` on. */
  linesSince(from: number, kind: InterpreterLine["kind"] = "console"): string[] {
    const first = this.count - this.lines.length;
    return this.lines
      .slice(Math.max(0, from - first))
      .filter((l) => l.kind === kind)
      .map((l) => l.text);
  }

  /** Resolves with the first console line from position `from` on matching `pattern`; rejects after `timeoutMs` or when the process ends. */
  waitForLine(pattern: RegExp, from: number, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.linesSince(from).find((l) => pattern.test(l));
        if (hit !== undefined) {
          done();
          resolve(hit);
          return true;
        }
        if (!this.alive) {
          done();
          reject(
            new Error(`the interpreter ended (${this.exitReason ?? "stopped"}) before printing ${pattern}`),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        const last = this.linesSince(from).slice(-5).join(" | ");
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms (last: ${last || "none"})`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Opens the telnet console (the process must have been started with `telnet`) and checks that
   * it reaches THIS interpreter (port 2323 may belong to another one). Keeps it open: the
   * program's output then arrives through it. Retries until `timeoutMs`.
   */
  async openConsole(timeoutMs = 5000): Promise<BoardConsole> {
    if (this.con !== undefined) return this.con;
    if (this.options.telnet !== true) throw new Error("this interpreter has no telnet console");
    const end = Date.now() + timeoutMs;
    let why = "";
    while (Date.now() < end && this.alive) {
      let link: Link;
      try {
        link = await openLink(
          { kind: "tcp", host: "127.0.0.1", port: TELNET_PORT },
          { connectTimeoutMs: 1000 },
        );
      } catch (e) {
        why = e instanceof Error ? e.message : String(e);
        await sleep(50);
        continue;
      }
      link.onData((d) => this.telnetData(d));
      const con = new BoardConsole(link, { timeoutMs: 5000 });
      try {
        await con.sync();
        const id = await con.evaluate(`require("Storage").read(${jsLiteral(ID_FILE)})`);
        if (id !== this.id) {
          await link.close();
          throw new Error(
            `tcp://127.0.0.1:${TELNET_PORT} is another interpreter's console (is another 'espruino --telnet' running in this network namespace?)`,
          );
        }
      } catch (e) {
        await link.close();
        if (e instanceof BoardError) {
          why = e.message;
          await sleep(50);
          continue;
        }
        throw e;
      }
      this.link = link;
      this.con = con;
      link.onClose(() => {
        this.link = undefined;
        this.con = undefined;
      });
      return con;
    }
    throw new Error(
      `cannot open the interpreter's telnet console: ${this.alive ? why : "it is not running"}`,
    );
  }

  /** Closes the telnet console (for instance so that the upload tool can connect: it serves one client). */
  async closeConsole(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    this.con = undefined;
    if (link !== undefined) await link.close();
    // The interpreter notices the closed connection on its next pass.
    await sleep(100);
  }

  /** Blocks in use, total and error flags, read over the telnet console (opened if needed). */
  async health(): Promise<Health> {
    const con = await this.openConsole();
    const v = await con.evaluate("[process.memory().usage,process.memory().total,E.getErrorFlags()]");
    if (!Array.isArray(v) || typeof v[0] !== "number" || typeof v[1] !== "number" || !Array.isArray(v[2])) {
      throw new Error(`unexpected answer to process.memory()/E.getErrorFlags(): ${JSON.stringify(v)}`);
    }
    return { usage: v[0], total: v[1], errorFlags: v[2].map(String) };
  }

  /**
   * Stops the process and starts it again in the same directory (Storage kept): with `program`
   * (a file; `null`: the REPL, which boots what Storage holds), else the same program as before.
   */
  async restart(program?: string | null): Promise<void> {
    await this.kill();
    if (program !== undefined) this.program = program ?? undefined;
    await this.launch();
  }

  /** Stops the process (SIGKILL) and removes the directory it made. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async kill(): Promise<void> {
    await this.closeConsole().catch(() => undefined);
    const c = this.child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
      await this.exit;
    }
  }

  /** The file to run: the program, with the Wi-Fi prelude in front when there is one. */
  private programFile(): string | undefined {
    if (this.program === undefined) return undefined;
    if (this.options.wifi === undefined) return this.program;
    const file = join(this.dir, "board.js");
    writeFileSync(
      file,
      `${wifiPrelude(this.options.wifi)}\n${readFileSync(this.program, "latin1")}`,
      "latin1",
    );
    return file;
  }

  private async launch(): Promise<void> {
    const file = this.programFile();
    const args = [
      ...(this.options.telnet === true ? ["--telnet"] : []),
      ...(file === undefined ? [] : [file]),
    ];
    this.exitReason = undefined;
    this.stdoutRest = "";
    this.telnetRest = "";
    this.started = performance.now();
    const child = spawn(this.options.bin, args, { cwd: this.dir, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    reapOnExit(child);
    // Standard input stays open (never written, never ended) for the life of the process.
    child.stdin.on("error", () => undefined);
    this.spoke = false;
    child.stdout.on("data", (d: Buffer) => {
      this.spoke = true;
      this.stdoutRest = this.take(this.stdoutRest + d.toString("latin1"), "console");
    });
    let errRest = "";
    child.stderr.on("data", (d: Buffer) => {
      const parts = (errRest + d.toString("latin1")).split("\n");
      errRest = parts.pop() ?? "";
      for (const p of parts) if (p.trim() !== "") this.push("interpreter", p.replace(/\r$/, ""));
    });
    this.exit = new Promise<void>((resolve) => {
      child.on("exit", (code, signal) => {
        this.exitReason = signal ?? `exit ${code}`;
        this.wake();
        resolve();
      });
    });
    const failed = await new Promise<Error | undefined>((resolve) => {
      child.once("error", (e) => resolve(new Error(`cannot start ${this.options.bin}: ${e.message}`)));
      child.once("spawn", () => resolve(undefined));
    });
    if (failed !== undefined) throw failed;
    // Some output comes at once (the banner, or the boot code's lines and the prompt); a binary
    // that is not Espruino, or that dies at once, fails here.
    const end = Date.now() + 5000;
    while (this.child === child && !this.spoke && this.alive && Date.now() < end) await sleep(10);
    if (!this.spoke || !this.alive) {
      const why = this.alive ? "no output within 5000 ms" : `it ended (${this.exitReason ?? "?"})`;
      await this.kill();
      throw new Error(`${this.options.bin} did not start as Espruino: ${why}`);
    }
  }

  private telnetData(d: string): void {
    this.telnetRest = this.take(this.telnetRest + d, "console");
  }

  /** Takes the complete lines of `text` (console output), returns the unfinished rest. */
  private take(text: string, kind: InterpreterLine["kind"]): string {
    const end = text.lastIndexOf("\n");
    if (end < 0) return text;
    for (const l of cleanLines(text.slice(0, end + 1))) {
      // The console's own answers to evaluate() are not the program's output.
      if (!/<syf\d+>/.test(l)) this.push(kind, l);
    }
    return text.slice(end + 1);
  }

  private push(kind: InterpreterLine["kind"], text: string): void {
    const line: InterpreterLine = { t: Math.round(performance.now() - this.started), kind, text };
    this.lines.push(line);
    this.count++;
    if (this.lines.length > KEEP_LINES) this.lines.splice(0, this.lines.length - KEEP_LINES);
    this.options.onLine?.(line);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
