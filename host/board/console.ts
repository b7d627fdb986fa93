/**
 * Talking to Espruino's console as a program rather than a person: commands go as echo-off
 * lines (prefix byte 0x10: no echo, no `=result`), and a result comes back printed between two
 * markers that only that command prints (`<syfN>...</syfN>`, N a counter), so that the board's
 * own output (status lines, the prompt) around it does not matter. An exception shows as
 * Espruino's "Uncaught ..." line before the marker would have come, and becomes a
 * {@link BoardError} with that text.
 *
 * Everything the board prints is kept (the last 1 MB), with absolute positions ({@link
 * BoardConsole.mark}), so that callers can wait for a line that appears later, such as the
 * firmware's boot line after an upload.
 */

import { formatDuration } from "../duration-text.js";
import type { Link } from "./link.js";

/** A failure talking to a board: printed as one line. */
export class BoardError extends Error {
  override readonly name = "BoardError";
}

/** What `process.env` and `process.memory()` tell about a board. */
export interface BoardInfo {
  /** Espruino version, e.g. "2v29". */
  readonly version: string;
  /** Board name, e.g. "ESP32" or "EMULATOR". */
  readonly board: string;
  /** Built-in modules, from process.env.MODULES. */
  readonly modules: readonly string[];
  /** Free and total JsVar blocks. */
  readonly freeBlocks: number;
  readonly totalBlocks: number;
}

/** Kept output, in characters: older output is dropped. */
const KEEP = 1 << 20;
/** Storage.write chunk, in characters (a console line stays short). */
const CHUNK = 512;

/**
 * A JavaScript string literal for Espruino holding `text` (a binary string) in printable ASCII:
 * quotes and backslashes escaped, every other byte outside 0x20..0x7e as `\xNN`. Throws on
 * characters above 0xff (encode text to bytes first).
 */
export function jsLiteral(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`character ${c} at ${i} is not a byte`);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x20 || c > 0x7e) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += text.charAt(i);
  }
  return out + '"';
}

/** A regexp source matching `text` literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

export interface ConsoleOptions {
  /** How long a command may take to answer (ms). Defaults to 4000. */
  readonly timeoutMs: number;
}

export class BoardConsole {
  private text = "";
  /** Absolute position of text[0]. */
  private base = 0;
  private readonly waiters = new Set<() => void>();
  private seq = 0;
  private closedReason: string | undefined;
  private readonly unsubscribe: () => void;
  readonly timeoutMs: number;

  constructor(
    readonly link: Link,
    options: Partial<ConsoleOptions> = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 4000;
    this.unsubscribe = link.onData((d) => this.receive(d));
    link.onClose((reason) => {
      this.closedReason = reason;
      this.wake();
    });
  }

  private receive(data: string): void {
    this.text += data;
    if (this.text.length > KEEP) {
      const drop = this.text.length - KEEP;
      this.text = this.text.slice(drop);
      this.base += drop;
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** The position just after everything received so far. */
  mark(): number {
    return this.base + this.text.length;
  }

  /** What was received from position `from` on (as much as is kept). */
  since(from: number): string {
    return this.text.slice(Math.max(0, from - this.base));
  }

  /** Complete lines received from `from` on, without the prompt and Espruino's line-editing codes. */
  linesSince(from: number): string[] {
    return cleanLines(this.since(from));
  }

  /** Stops listening to the link (the link stays open). */
  detach(): void {
    this.unsubscribe();
  }

  /**
   * Waits until `pattern` matches what was received from `from` on; resolves with the match.
   * Rejects with a BoardError after `timeoutMs` or when the link closes, and, with `failOn`, as
   * soon as `failOn` matches (its match is the message).
   */
  waitFor(pattern: RegExp, from: number, timeoutMs: number, failOn?: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.waiters.delete(check);
        if (timer !== undefined) clearTimeout(timer);
      };
      const check = (): void => {
        const seen = this.since(from);
        const m = pattern.exec(seen);
        if (m !== null) {
          done();
          resolve(m);
          return;
        }
        const f = failOn?.exec(seen);
        if (f) {
          done();
          reject(new BoardError(`the board said: ${(f[1] ?? f[0]).trim()}`));
          return;
        }
        if (this.closedReason !== undefined) {
          done();
          reject(new BoardError(this.closedReason));
        }
      };
      timer = setTimeout(() => {
        done();
        reject(
          new BoardError(`no answer from the board on ${this.link.name} within ${formatDuration(timeoutMs)}`),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Gets the console to an empty input line: Enter, and a prompt within a second; if none comes,
   * Ctrl-C (which would interrupt running code, so only then) and another wait. Resolves even
   * without a prompt: the next command's timeout reports a silent board.
   */
  async sync(): Promise<void> {
    const from = this.mark();
    await this.link.write("\n");
    try {
      await this.waitFor(/>/, from, 1000);
      return;
    } catch {
      // no prompt: break out of whatever is typed or running
    }
    const again = this.mark();
    await this.link.write("\x03");
    await this.waitFor(/>/, again, 1000).catch(() => undefined);
  }

  /**
   * Evaluates a one-line JavaScript expression on the board and returns its value through
   * JSON. On Espruino `JSON.stringify(undefined)` is "null", so an undefined value comes back as
   * null there (as undefined from a board that prints "undefined"): ask for an explicit value. `before`: one-line statements run first, on lines of
   * their own; an exception in any of them rejects.
   */
  async evaluate(
    expression: string,
    before: readonly string[] = [],
    timeoutMs = this.timeoutMs,
  ): Promise<unknown> {
    const text = await this.evaluateText(expression, before, timeoutMs);
    if (text === "undefined") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new BoardError(`the board answered something that is not JSON: ${text.slice(0, 80)}`);
    }
  }

  private async evaluateText(
    expression: string,
    before: readonly string[],
    timeoutMs: number,
  ): Promise<string> {
    for (const line of [expression, ...before]) {
      if (/[\r\n]/.test(line)) throw new RangeError("console commands must be one line");
    }
    const id = ++this.seq;
    const open = `<syf${id}>`;
    const close = `</syf${id}>`;
    const from = this.mark();
    const lines = before.map((s) => `\x10${s}\n`).join("");
    // The opening marker is split in the source, so that an echo of the line cannot match.
    await this.link.write(`${lines}\x10print("<syf"+"${id}>"+JSON.stringify(${expression})+"${close}")\n`);
    const m = await this.waitFor(
      new RegExp(`${literal(open)}([\\s\\S]*?)${literal(close)}`),
      from,
      timeoutMs,
      /Uncaught ([^\r\n]*)/,
    );
    return m[1] ?? "";
  }

  /** Runs one-line statements; rejects with the board's "Uncaught ..." when one throws. */
  async run(...statements: string[]): Promise<void> {
    await this.evaluateText("1", statements, this.timeoutMs);
  }

  /**
   * A Storage file's content (a binary string), or undefined when there is none. A missing file
   * crosses the console as `null`: on Espruino `JSON.stringify(undefined)` is the string "null".
   */
  async readFile(name: string): Promise<string | undefined> {
    const v = await this.evaluate(
      `(function(){var c=require("Storage").read(${jsLiteral(name)});return c===undefined?null:c})()`,
    );
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string")
      throw new BoardError(`Storage.read(${JSON.stringify(name)}) gave a ${typeof v}`);
    return v;
  }

  /** Writes a Storage file (a binary string) in chunks, then reads it back to check it. */
  async writeFile(name: string, content: string): Promise<void> {
    const n = jsLiteral(name);
    const statements: string[] = [];
    if (content.length <= CHUNK) statements.push(`require("Storage").write(${n},${jsLiteral(content)})`);
    else {
      for (let at = 0; at < content.length; at += CHUNK) {
        const part = jsLiteral(content.slice(at, at + CHUNK));
        statements.push(
          at === 0
            ? `require("Storage").write(${n},${part},0,${content.length})`
            : `require("Storage").write(${n},${part},${at})`,
        );
      }
    }
    await this.run(...statements);
    const back = await this.readFile(name);
    if (back !== content) {
      throw new BoardError(
        `Storage file ${name} reads back different from what was written (${back?.length ?? "no"} bytes, expected ${content.length})`,
      );
    }
  }

  /** Espruino version, board, modules and memory. */
  async info(): Promise<BoardInfo> {
    const v = await this.evaluate(
      "{v:process.env.VERSION,b:process.env.BOARD,m:process.env.MODULES,f:process.memory().free,t:process.memory().total}",
    );
    if (typeof v !== "object" || v === null) throw new BoardError("the board did not describe itself");
    const o = v as Record<string, unknown>;
    const str = (x: unknown): string => (typeof x === "string" ? x : "");
    const num = (x: unknown): number => (typeof x === "number" ? x : 0);
    return {
      version: str(o["v"]),
      board: str(o["b"]),
      modules: str(o["m"])
        .split(",")
        .filter((s) => s !== ""),
      freeBlocks: num(o["f"]),
      totalBlocks: num(o["t"]),
    };
  }
}

/**
 * Console text as lines: CR LF or LF separated, the prompt's erase sequence (`\r\x1b[J`) and
 * prompt characters at the start removed, text before a carriage return dropped, empty lines and
 * the unfinished last line left out.
 */
export function cleanLines(text: string): string[] {
  const parts = text.replaceAll("\x1b[J", "").split(/\r?\n/);
  parts.pop();
  // A carriage return inside a line: the terminal writes over what came before it.
  return parts.map((l) => l.slice(l.lastIndexOf("\r") + 1).replace(/^[>:]+/, "")).filter((l) => l !== "");
}
