/**
 * Fuzzing the postcard decoders (@msgpack/msgpack's habit): random datagrams and mutations of
 * the golden vectors. Only the two error kinds may come out, nothing may throw, every result
 * must be self-consistent, and the decoder must still decode a valid message afterwards.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { postcard } from "../shared/wire/postcard.js";
import { hexToBytes, messageVectors } from "./support/vectors.js";

const vectors = messageVectors.map((v) => ({ side: v.side, bytes: hexToBytes(v.postcard) }));
const heartbeat = hexToBytes("08");

/** Throws (failing the property) when a result is not one of the two kinds or not self-consistent. */
function check(bytes: Uint8Array): void {
  for (const codec of [postcard.client, postcard.server]) {
    const r = codec.decode(bytes, 0);
    if (r.ok) {
      if (r.end <= 0 || r.end > bytes.length) throw new Error(`end ${r.end} outside 1..${bytes.length}`);
    } else {
      if (r.error !== "truncated" && r.error !== "invalid") throw new Error(`error kind ${r.error}`);
      if (r.offset < 0 || r.offset > bytes.length) throw new Error(`offset ${r.offset} outside the input`);
    }
  }
}

/** A vector with a few random edits: flips, truncation, insertion, deletion. */
const mutated = fc
  .tuple(
    fc.constantFrom(...vectors),
    fc.array(
      fc.record({ op: fc.integer({ min: 0, max: 3 }), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([v, edits]) => {
    let b = Array.from(v.bytes);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % (b.length + 1);
      if (e.op === 0 && b.length > 0) b[at % b.length] = e.byte;
      else if (e.op === 1) b = b.slice(0, at);
      else if (e.op === 2) b.splice(at, 0, e.byte);
      else b.splice(at, 1);
    }
    return new Uint8Array(b);
  });

describe("postcard fuzz", () => {
  it("random datagrams: only truncated/invalid, never a throw (50,000 inputs)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => check(b)),
      { numRuns: 50_000, seed: 0x5f1a1a },
    );
    expect(postcard.client.decode(heartbeat, 0).ok).toBe(true);
  });

  it("mutated vectors: only truncated/invalid, never a throw (50,000 inputs)", () => {
    fc.assert(
      fc.property(mutated, (b) => check(b)),
      { numRuns: 50_000, seed: 0x5f1a1b },
    );
    const r = postcard.client.decode(heartbeat, 0);
    expect(r.ok && r.message.type).toBe("heartbeat");
  });

  it("huge counts never allocate: a 2^63 input count fails at the first missing format", () => {
    const r = postcard.server.decode(hexToBytes("00ffffffffffffffff7f"), 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe("truncated");
  });
});
