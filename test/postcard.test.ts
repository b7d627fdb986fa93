import { describe, expect, it } from "vitest";
import type { ClientMessage, ServerMessage } from "../shared/message.js";
import { describeFailure } from "../shared/wire/codec.js";
import { messageFromJson, messageToJson } from "../shared/wire/json.js";
import { postcard } from "../shared/wire/postcard.js";
import { bytesToHex, decodeCases, hexToBytes, jsonEqual, messageVectors } from "./support/vectors.js";

function codecFor(side: "client" | "server") {
  return side === "client" ? postcard.client : postcard.server;
}

describe("postcard: golden message vectors (both directions)", () => {
  it("has the vectors", () => {
    expect(messageVectors.length).toBe(124);
  });
  for (const v of messageVectors) {
    it(`${v.desc}`, () => {
      const parsed = messageFromJson(v.json, v.side);
      if (!parsed.ok) throw new Error(parsed.reason);
      const codec = codecFor(v.side) as {
        encodingLength(m: unknown): number;
        encode(m: unknown, b: Uint8Array, o: number): number;
      };
      // encode: JSON -> bytes
      const len = codec.encodingLength(parsed.message);
      const buf = new Uint8Array(len);
      expect(codec.encode(parsed.message, buf, 0)).toBe(len);
      expect(bytesToHex(buf)).toBe(v.postcard);
      // decode: bytes -> JSON, compared as values with the reference's text
      const d = codecFor(v.side).decode(hexToBytes(v.postcard), 0);
      if (!d.ok) throw new Error(describeFailure(d));
      expect(d.end).toBe(v.postcard.length / 2);
      const json = messageToJson(d.message, v.side);
      expect(jsonEqual(json, v.json), `${json} vs ${v.json}`).toBe(true);
      // Stronger than WIRE.md asks: our text is serde_json's, character for character.
      expect(json).toBe(v.json);
    });
  }
});

describe("postcard: golden decode cases", () => {
  it("has the cases", () => {
    expect(decodeCases.length).toBe(220);
  });
  for (const c of decodeCases) {
    it(`${c.side}: ${c.label}`, () => {
      const bytes = hexToBytes(c.hex);
      const d = codecFor(c.side).decode(bytes, 0);
      if (c.expect.ok) {
        if (!d.ok) throw new Error(describeFailure(d));
        expect(d.end).toBe(c.expect.consumed);
        expect(bytes.length - d.end).toBe(c.expect.remaining);
        expect(jsonEqual(messageToJson(d.message, c.side), c.expect.json)).toBe(true);
      } else {
        expect(d.ok).toBe(false);
        if (!d.ok) {
          expect(d.error).toBe(c.expect.error);
          expect(d.offset).toBeGreaterThanOrEqual(0);
          expect(d.offset).toBeLessThanOrEqual(bytes.length);
          expect(d.expected.length).toBeGreaterThan(0);
        }
      }
    });
  }
});

describe("postcard: offsets and buffers", () => {
  it("decodes at an offset and reports where the payload starts", () => {
    const bytes = hexToBytes("ffff" + "0601000000e803000000000000040000001f3e5d7c");
    const d = postcard.client.decode(bytes, 2);
    expect(d.ok).toBe(true);
    if (d.ok && d.message.type === "audio") {
      expect(d.end).toBe(19);
      expect(d.message.header).toEqual({ streamIdx: 1, byteIdx: { hi: 0, lo: 1000 }, nBytes: 4 });
      expect(bytesToHex(bytes.subarray(d.end))).toBe("1f3e5d7c");
    }
  });
  it("refuses to encode into a buffer that is too small, leaving it untouched", () => {
    const buf = new Uint8Array(16).fill(0xaa);
    const m: ClientMessage = {
      type: "audio",
      header: { streamIdx: 0, byteIdx: { hi: 0, lo: 0 }, nBytes: 0 },
    };
    expect(() => postcard.client.encode(m, buf, 0)).toThrow(/do not fit/);
    expect(() => postcard.client.encode(m, new Uint8Array(40), 24)).toThrow(/do not fit/);
    expect(buf.every((b) => b === 0xaa)).toBe(true);
  });
  it("keeps byte_idx exact above 2^53", () => {
    const m: ServerMessage = {
      type: "audio",
      header: { streamIdx: 7, byteIdx: { hi: 0x200000, lo: 1 }, nBytes: 1400 },
    };
    const buf = new Uint8Array(17);
    postcard.server.encode(m, buf, 0);
    expect(bytesToHex(buf)).toBe("0707000000010000000000200078050000");
    expect(messageToJson(m, "server")).toContain('"byte_idx":9007199254740993');
  });
});
