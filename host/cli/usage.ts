/**
 * How the CLI reports a bad invocation: one line on stderr naming the problem, exit code 2.
 * Commands throw a UsageError; main() prints it.
 */

/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Exit codes of every command. */
export const EXIT = {
  OK: 0,
  /** The command ran but what it checked failed (e.g. a loopback mismatch). */
  FAILED: 1,
  /** Bad arguments or input: nothing was done. */
  USAGE: 2,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

/** Output channels, injectable so that commands can be tested without a process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Lines of standard input (only read when a command asks for it). */
  stdinLines(): AsyncIterable<string>;
}
