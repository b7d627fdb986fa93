/**
 * Argument parsing on top of node:util's parseArgs, with errors that name the bad argument in
 * one line (parseArgs' own messages run to several sentences).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./usage.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `args` strictly against `options`; throws UsageError on anything unknown or malformed. */
export function parse<O extends Options>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // "Option '--duration' argument is ambiguous.\nDid you forget...": a value starting with '-'
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (ambiguous !== null) {
      throw new UsageError(
        `${ambiguous[1]} needs a value; one starting with '-' is written ${ambiguous[1]}=-...`,
      );
    }
    throw new UsageError(msg.split("\n")[0]?.split(". ")[0]?.replace(/\.$/, "") ?? msg);
  }
}

/** Checks that `value` is one of `allowed`, naming the option when it is not. */
export function oneOf<T extends string>(
  option: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${option} must be one of ${allowed.join(", ")} (got '${value}')`);
}
