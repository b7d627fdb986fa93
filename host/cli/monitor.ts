/**
 * `syfala monitor`: a terminal on a board's console, serial or telnet. On a terminal, standard
 * input goes raw (each key as typed: Ctrl-C reaches the board) and Ctrl-] leaves, as in telnet.
 * When standard input is not a terminal, it is sent to the board as it comes and the monitor
 * leaves at its end, once the board has been quiet for a moment, or at a Ctrl-] byte.
 */

import { openLink } from "../board/link.js";
import { formatPortSpec } from "../board/port.js";
import { parse } from "./args.js";
import {
  baudOption,
  noPositionals,
  PORT_HELP,
  PORT_OPTIONS,
  portOption,
  processTerminal,
  reportFailures,
  type Terminal,
} from "./board-options.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala monitor --port PORT [--baud N] [--linger MS]

A terminal on a board's console: what you type goes to the board, what it prints comes here.
${PORT_HELP}
  --linger MS      when standard input is not a terminal: after its end, wait until the board
                   has printed nothing for MS ms (default 500, at most 10 s in all) before leaving
On a terminal, keys go to the board as typed (raw mode: Ctrl-C interrupts the board's running
code, as on Espruino's own console); Ctrl-] leaves. When standard input is a pipe or a file, it
is sent as it comes, and the monitor leaves at its end or at a Ctrl-] byte (0x1d).
Exit codes: 0 left with Ctrl-] or at the end of the input, 1 the connection failed or the board
went away, 2 bad arguments.`;

/** Ctrl-]: leaves the monitor. */
const LEAVE = 0x1d;
/** Longest wait after the end of input (ms). */
const MAX_LINGER_MS = 10000;

/** Makes the `syfala monitor` command on `term`. */
export function makeMonitorCommand(term: Terminal): (args: string[], io: Io) => Promise<number> {
  return async (args, io) => {
    const { values, positionals } = parse(args, {
      ...PORT_OPTIONS,
      linger: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.out(HELP);
      return EXIT.OK;
    }
    noPositionals(positionals);
    const spec = portOption(values.port);
    const baud = baudOption(values.baud);
    let linger = 500;
    if (values.linger !== undefined) {
      linger = Number(values.linger);
      if (!/^\d+$/.test(values.linger) || linger > MAX_LINGER_MS) {
        throw new UsageError(`--linger must be an integer in 0..${MAX_LINGER_MS} (got '${values.linger}')`);
      }
    }

    return reportFailures("monitor", io, async () => {
      const link = await openLink(spec, { baudRate: baud });
      const { stdin, stdout } = term;
      const raw = stdin.isTTY === true && typeof stdin.setRawMode === "function";
      if (raw) io.err(`connected to ${formatPortSpec(spec)}; Ctrl-] to leave`);
      let lastData = Date.now();
      link.onData((d) => {
        lastData = Date.now();
        stdout.write(Buffer.from(d, "latin1"));
      });
      // Writes go out in order; leaving waits for the ones already queued.
      let queue: Promise<void> = Promise.resolve();
      return await new Promise<number>((resolve) => {
        let done = false;
        const finish = (code: number, message?: string): void => {
          if (done) return;
          done = true;
          stdin.off("data", onData);
          stdin.off("end", onEnd);
          if (raw) stdin.setRawMode?.(false);
          stdin.pause();
          void queue
            .catch(() => undefined)
            .then(() => link.close())
            .then(() => {
              if (message !== undefined) io.err(message);
              else if (raw) io.err("\r\nleft the monitor");
              resolve(code);
            });
        };
        const onData = (chunk: Buffer | string): void => {
          const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
          const at = buf.indexOf(LEAVE);
          const part = at < 0 ? buf : buf.subarray(0, at);
          if (part.length > 0) {
            const text = part.toString("latin1");
            queue = queue.then(() => link.write(text));
          }
          if (at >= 0) finish(EXIT.OK);
        };
        const onEnd = (): void => {
          const end = Date.now() + MAX_LINGER_MS;
          const check = (): void => {
            if (done) return;
            const now = Date.now();
            if (now - lastData >= linger || now >= end) finish(EXIT.OK);
            else setTimeout(check, Math.min(linger, 50));
          };
          void queue.then(() => {
            lastData = Math.max(lastData, Date.now());
            check();
          });
        };
        link.onClose((reason) => finish(EXIT.FAILED, `syfala monitor: ${reason}`));
        if (raw) stdin.setRawMode?.(true);
        stdin.on("data", onData);
        stdin.on("end", onEnd);
        stdin.resume();
      });
    });
  };
}

/** `syfala monitor` on the process's terminal. */
export const monitorCommand = makeMonitorCommand(processTerminal);
