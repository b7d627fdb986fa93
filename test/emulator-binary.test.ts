/**
 * The emulator's binary-string conversions (Espruino's E.toString / E.toArrayBuffer and the dgram
 * shim's datagrams) use Node's native Latin-1 copies; these properties hold them to the definition,
 * written out here one char per byte: byte b is char b, and a char gives its low 8 bits.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { binaryString, Realm, stringBytes } from "../host/emulator/context.js";

const byHand = {
  toString(bytes: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode((bytes[i] ?? 0) & 255);
    return s;
  },
  toBytes(s: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 255);
    return out;
  },
};

describe("emulator binary strings", () => {
  it("bytes -> string: typed arrays (at any offset, signed or not) and plain arrays", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(20), (u, off) => {
        const v = u.subarray(Math.min(off, u.length));
        expect(binaryString(v)).toBe(byHand.toString(v));
        expect(binaryString(new Int8Array(v.buffer, v.byteOffset, v.length))).toBe(byHand.toString(v));
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.double(), fc.constant(Number.NaN))), (a) => {
        expect(binaryString(a)).toBe(byHand.toString(a.map((x) => (Number.isFinite(x) ? x : 0))));
      }),
    );
  });

  it("string -> bytes: binary strings, and chars above 255 giving their low 8 bits", () => {
    const realm = new Realm();
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 2000 }), fc.string({ unit: "grapheme" })),
        (s) => {
          expect([...stringBytes(s)]).toEqual(byHand.toBytes(s));
          expect([...realm.stringBytes(s)]).toEqual(byHand.toBytes(s));
          expect([...realm.bytes(byHand.toBytes(s))]).toEqual(byHand.toBytes(s));
        },
      ),
    );
    expect([...stringBytes("\u0141\u00ff\u0100")]).toEqual([0x41, 0xff, 0x00]);
  });
});
