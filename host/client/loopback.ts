/**
 * The loopback check of one stream pair: what comes back on input stream i must be what was sent
 * on output stream i at the same byte indices (BEHAVIOUR.md "Loopback": the server reflects each
 * message with its byte index and payload).
 *
 * The sent bytes are not kept: the source is a pure function of the byte index (sources.ts), so
 * the expected bytes are regenerated for each returning message. Bytes lost in transit simply
 * never come back and are not compared; what is counted is how many came back and were compared.
 * A byte that comes back before it was sent (its index at or past the sender's position when it
 * arrives) cannot be an echo: it is counted in `notSent`, a failure like a mismatch.
 */

import type { AudioSource } from "./sources.js";

/** The first byte that differed. */
export interface Mismatch {
  /** Stream byte index. */
  readonly byte: number;
  readonly got: number;
  readonly expected: number;
}

/** The figures of a {@link LoopbackCheck}, for reports. */
export interface LoopbackVerdict {
  readonly input: number;
  readonly output: number;
  /** Bytes that came back and were compared with what was sent at their index. */
  readonly compared: number;
  /** Of those, bytes that differ. */
  readonly mismatched: number;
  /** Bytes that came back before they were sent (not an echo). */
  readonly notSent: number;
  readonly firstMismatch: Mismatch | undefined;
  /** True when something was compared and everything matched. */
  readonly ok: boolean;
}

/** Compares what returns on input `input` with what was sent on output `output`. */
export class LoopbackCheck {
  compared = 0;
  mismatched = 0;
  notSent = 0;
  firstMismatch: Mismatch | undefined;
  private scratch = new Uint8Array(2048);

  constructor(
    readonly input: number,
    readonly output: number,
    private readonly source: AudioSource,
  ) {}

  /**
   * Checks one returning message: `payload` at stream byte `byteIdx`, while the sender has sent
   * bytes `[0, sentEnd)`. Returns true when every byte was sent and matches (the message is an
   * echo, usable for a round-trip time).
   */
  check(byteIdx: number, payload: Uint8Array, sentEnd: number): boolean {
    const n = payload.length;
    const sent = Math.max(0, Math.min(n, sentEnd - byteIdx));
    this.notSent += n - sent;
    if (sent === 0) return n === 0;
    if (this.scratch.length < sent) this.scratch = new Uint8Array(sent);
    const expected = this.scratch;
    this.source.fill(expected, 0, sent, byteIdx);
    let bad = 0;
    for (let i = 0; i < sent; i++) {
      if (payload[i] !== expected[i]) {
        if (bad === 0 && this.firstMismatch === undefined) {
          this.firstMismatch = {
            byte: byteIdx + i,
            got: payload[i] as number,
            expected: expected[i] as number,
          };
        }
        bad++;
      }
    }
    this.compared += sent;
    this.mismatched += bad;
    return bad === 0 && sent === n;
  }

  /** The figures so far. */
  verdict(): LoopbackVerdict {
    return {
      input: this.input,
      output: this.output,
      compared: this.compared,
      mismatched: this.mismatched,
      notSent: this.notSent,
      firstMismatch: this.firstMismatch,
      ok: this.compared > 0 && this.mismatched === 0 && this.notSent === 0,
    };
  }
}

/** A byte as "0x" and two hex digits. */
export function hex(b: number): string {
  return "0x" + b.toString(16).padStart(2, "0");
}

/** One line on a verdict: "in 0 = out 0: 159232 bytes compared, all equal" or why it failed. */
export function describeVerdict(v: LoopbackVerdict): string {
  const pair = `in ${v.input} <- out ${v.output}`;
  if (v.compared === 0 && v.notSent === 0) return `${pair}: nothing came back (0 bytes compared)`;
  if (v.ok) return `${pair}: ${v.compared} bytes compared, all equal`;
  const parts: string[] = [];
  if (v.mismatched > 0) {
    const m = v.firstMismatch;
    const first =
      m === undefined ? "" : ` (first at byte ${m.byte}: got ${hex(m.got)}, sent ${hex(m.expected)})`;
    parts.push(`${v.mismatched} of ${v.compared} bytes compared differ from what was sent${first}`);
  }
  if (v.notSent > 0) parts.push(`${v.notSent} bytes came back before they were sent`);
  if (parts.length === 0) parts.push(`${v.compared} bytes compared`);
  return `${pair}: ${parts.join("; ")}`;
}
