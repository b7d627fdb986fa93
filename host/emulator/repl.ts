/**
 * Espruino's console line discipline (src/jsinteractive.c, jsiHandleChar and friends), enough for
 * a person at a terminal and for the upload tool:
 * - characters are echoed while echo is on; the prompt is ">" and continuation lines show ":";
 * - Enter executes the line when its brackets balance (Espruino's own count: strings, template
 *   literals, comments and regexps are skipped; an unterminated string executes so that it
 *   errors, an unterminated comment or template waits), else the line continues;
 * - a line starting with 0x10 (DLE) runs with echo off: nothing is echoed and no `=result`;
 * - Esc Enter (Alt-Enter, which the upload tool sends inside multi-line statements) adds a
 *   newline without executing; `Esc [ N d` (the tool's line numbers) and cursor keys are ignored;
 * - backspace deletes, Ctrl-U/Ctrl-W clear the line, Ctrl-C clears the line (it cannot interrupt
 *   running code: the emulator bounds each line's run time instead);
 * - after a line runs, `=value` is printed (echo on, no error, line not empty), an exception is
 *   printed as "Uncaught ...", and the prompt comes back; program output (console.log from a
 *   timer...) first removes the prompt line ("\r\x1B[J") and the prompt comes back after it.
 * No history, no cursor movement inside the line, no tab completion.
 */

/** What a line's evaluation gave. */
export type LineResult = { readonly ok: true; readonly text: string } | { readonly ok: false };

export interface ReplHost {
  /** Sends console bytes (a binary string) to the terminal. */
  write(text: string): void;
  /** Runs a complete line; prints its errors itself (through {@link Repl.output}). */
  evaluate(line: string): LineResult;
}

/** Input states after special characters (\r, Esc, Esc O, Esc [, Esc [ digits). */
const State = { None: 0, HadR: 1, Had27: 2, Had27_79: 3, Had27_91: 4, Had27_91Number: 5 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Espruino's jsiCountBracketsInInput: open minus close brackets outside strings, comments and
 * regexps; 0 for an unterminated string (execute, so that it errors), 1000 for an unterminated
 * comment or template literal.
 */
export function countBrackets(text: string): number {
  let brackets = 0;
  let i = 0;
  // Whether a `/` here starts a regexp (after an operator or at the start), not a division.
  let regexAllowed = true;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === "/" && text.charAt(i + 1) === "/") {
      while (i < text.length && text.charAt(i) !== "\n") i++;
      continue;
    }
    if (c === "/" && text.charAt(i + 1) === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) return 1000;
      i = end + 2;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        const d = text.charAt(j);
        if (d === "\\") {
          j += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          break;
        }
        if (d === "\n" && c !== "`") break;
        j++;
      }
      if (!closed) return c === "`" ? 1000 : 0;
      i = j + 1;
      regexAllowed = false;
      continue;
    }
    if (c === "/" && regexAllowed) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text.charAt(j) !== "\n") {
        const d = text.charAt(j);
        if (d === "\\") {
          j += 2;
          continue;
        }
        if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        j++;
      }
      i = j + 1;
      while (i < text.length && /[a-z]/i.test(text.charAt(i))) i++;
      regexAllowed = false;
      continue;
    }
    if (c === "{" || c === "[" || c === "(") brackets++;
    else if (c === "}" || c === "]" || c === ")") {
      brackets--;
      if (brackets < 0) return brackets;
    }
    if (/[\w$]/.test(c)) {
      let j = i;
      while (j < text.length && /[\w$]/.test(text.charAt(j))) j++;
      const word = text.slice(i, j);
      regexAllowed = /^(return|typeof|instanceof|in|of|new|delete|void|throw|case|do|else|yield)$/.test(word);
      i = j;
      continue;
    }
    if (!/\s/.test(c)) regexAllowed = c !== ")" && c !== "]" && c !== "}";
    i++;
  }
  return brackets;
}

export class Repl {
  private line = "";
  private state: State = State.None;
  private echoOffForLine = false;
  private removed = true;
  /** Global echo (`echo(0)` turns it off). */
  echo = true;

  constructor(private readonly host: ReplHost) {}

  private get showing(): boolean {
    return this.echo && !this.echoOffForLine && !this.removed;
  }

  private out(text: string): void {
    this.host.write(text.replace(/\r?\n/g, "\r\n"));
  }

  /** Program output (a line of text): the prompt line is removed first and returns afterwards. */
  output(text: string): void {
    this.removeInputLine();
    this.out(text + "\n");
  }

  /** Espruino's jsiConsoleRemoveInputLine. */
  private removeInputLine(): void {
    if (this.removed) return;
    this.removed = true;
    if (this.echo && !this.echoOffForLine) this.host.write("\r\x1B[J");
  }

  /** Espruino's jsiConsoleReturnInputLine: shows the prompt (and the pending input) again. */
  returnInputLine(): void {
    if (!this.removed) return;
    this.removed = false;
    if (this.echo && !this.echoOffForLine) this.out(">" + this.line.replace(/\n/g, "\n:"));
  }

  /** Forgets the pending input (reset()). */
  clear(): void {
    this.line = "";
    this.state = State.None;
    this.echoOffForLine = false;
  }

  /** Feeds console input (a binary string). */
  input(data: string): void {
    for (const ch of data) this.handleChar(ch.charCodeAt(0));
    this.returnInputLine();
  }

  private append(text: string): void {
    this.line += text;
    if (this.showing) this.out(text);
  }

  private clearLine(): void {
    if (this.line === "") return;
    this.removeInputLine();
    this.line = "";
  }

  private handleChar(c: number): void {
    switch (this.state) {
      case State.Had27:
        this.state = c === 79 ? State.Had27_79 : c === 91 ? State.Had27_91 : State.None;
        if (c === 10) this.newLine(false);
        return;
      case State.Had27_79:
        this.state = State.None;
        return;
      case State.Had27_91:
        this.state = c >= 48 && c <= 57 ? State.Had27_91Number : State.None;
        return;
      case State.Had27_91Number:
        if (!(c >= 48 && c <= 57)) this.state = State.None;
        return;
      default:
        break;
    }
    if (c === 0) {
      this.state = State.None;
    } else if (c === 3 || c === 21 || c === 23) {
      this.state = State.None;
      this.clearLine();
    } else if (c === 27) {
      this.state = State.Had27;
    } else if (c === 16 && this.line === "") {
      this.echoOffForLine = true;
    } else if (c === 8 || c === 127) {
      this.state = State.None;
      if (this.line.length > 0) {
        this.line = this.line.slice(0, -1);
        if (this.showing) this.out("\b \b");
      }
    } else if (c === 10 && this.state === State.HadR) {
      this.state = State.None;
    } else if (c === 13 || c === 10) {
      this.state = c === 13 ? State.HadR : State.None;
      this.newLine(true);
    } else if (c >= 32 || c === 9) {
      this.state = State.None;
      this.append(c === 9 ? "    " : String.fromCharCode(c));
    } else {
      this.state = State.None;
    }
  }

  private newLine(execute: boolean): void {
    if (!execute || countBrackets(this.line) > 0) {
      if (this.showing) this.out("\n:");
      this.line += "\n";
      return;
    }
    if (this.showing) this.out("\n");
    const quiet = this.echoOffForLine;
    if (!quiet) this.removed = true;
    const line = this.line.replace(/\s+$/, "");
    this.line = "";
    const r = this.host.evaluate(line);
    if (r.ok && this.echo && !quiet && line !== "") this.out("=" + r.text + "\n");
    this.echoOffForLine = false;
  }
}
