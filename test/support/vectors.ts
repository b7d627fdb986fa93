/**
 * The golden vectors produced by the Rust reference (copied from ../shared/vectors, so that a
 * user's clone has them), and a comparison of JSON texts as values (WIRE.md, Canonical JSON):
 * integers exact to u64, floats equal as f64. The comparison uses lossless-json, not the
 * project's own parser, so that it is an independent oracle.
 */
import { readFileSync } from "node:fs";
import { isLosslessNumber, parse } from "lossless-json";

const here = new URL("../vectors/", import.meta.url);

export interface MessageVector {
  side: "client" | "server";
  desc: string;
  json: string;
  postcard: string;
  msgpack: string;
  msgpack_named: string;
}

export interface DecodeCase {
  side: "client" | "server";
  label: string;
  hex: string;
  expect:
    | { ok: true; json: string; consumed: number; remaining: number }
    | { ok: false; error: "truncated" | "invalid"; reference_error: string };
}

export const messageVectors: MessageVector[] = JSON.parse(
  readFileSync(new URL("messages.json", here), "utf8"),
).messages;
export const decodeCases: DecodeCase[] = JSON.parse(readFileSync(new URL("decode.json", here), "utf8")).cases;

export function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

function isIntegerText(t: string): boolean {
  return /^-?\d+$/.test(t);
}

function valueEqual(a: unknown, b: unknown): boolean {
  if (isLosslessNumber(a) && isLosslessNumber(b)) {
    if (isIntegerText(a.value) && isIntegerText(b.value)) return a.value === b.value;
    return Number(a.value) === Number(b.value);
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => valueEqual(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      ka.length === kb.length &&
      ka.every(
        (k, i) =>
          k === kb[i] && valueEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

/** True when two JSON texts are the same message: equal as values, integers exact. */
export function jsonEqual(a: string, b: string): boolean {
  return valueEqual(parse(a), parse(b));
}
