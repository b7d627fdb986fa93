/**
 * Property tests over every valid message (fast-check): both codecs and the canonical JSON
 * round-trip, encodingLength equals the bytes written, and encoding at an offset inside a larger
 * buffer writes exactly there.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClientMessage, ServerMessage, Side } from "../shared/message.js";
import type { MessageCodec } from "../shared/wire/codec.js";
import { messageFromJson, messageToJson } from "../shared/wire/json.js";
import { msgpack } from "../shared/wire/msgpack.js";
import { postcard } from "../shared/wire/postcard.js";
import { arbClientMessage, arbServerMessage } from "./arbitraries.js";

function roundTrip<M>(codec: MessageCodec<M>, m: M, pad: number, fill: number): void {
  const len = codec.encodingLength(m);
  const buf = new Uint8Array(pad + len + pad).fill(fill);
  expect(codec.encode(m, buf, pad)).toBe(len);
  for (let i = 0; i < pad; i++) {
    expect(buf[i]).toBe(fill);
    expect(buf[pad + len + i]).toBe(fill);
  }
  const d = codec.decode(buf, pad);
  if (!d.ok) throw new Error(`${d.error} at ${d.offset}: ${d.expected}`);
  expect(d.end).toBe(pad + len);
  expect(d.message).toEqual(m);
}

function jsonRoundTrip(m: ClientMessage | ServerMessage, side: Side): void {
  const text = messageToJson(m, side);
  const back = messageFromJson(text, side);
  if (!back.ok) throw new Error(back.reason);
  expect(back.message).toEqual(m);
  expect(messageToJson(back.message, side)).toBe(text);
}

describe("round trips of any valid message", () => {
  for (const [name, codec] of [
    ["postcard", postcard],
    ["msgpack", msgpack],
  ] as const) {
    it(`${name}: client messages`, () => {
      fc.assert(
        fc.property(arbClientMessage, fc.nat(9), fc.nat(255), (m, pad, fill) =>
          roundTrip(codec.client, m, pad, fill),
        ),
        { numRuns: 2000 },
      );
    });
    it(`${name}: server messages`, () => {
      fc.assert(
        fc.property(arbServerMessage, fc.nat(9), fc.nat(255), (m, pad, fill) =>
          roundTrip(codec.server, m, pad, fill),
        ),
        { numRuns: 2000 },
      );
    });
  }
  it("canonical JSON: client and server messages", () => {
    fc.assert(
      fc.property(arbClientMessage, (m) => jsonRoundTrip(m, "client")),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(arbServerMessage, (m) => jsonRoundTrip(m, "server")),
      { numRuns: 2000 },
    );
  });
  it("postcard and msgpack agree on the message they carry", () => {
    fc.assert(
      fc.property(arbServerMessage, (m) => {
        const a = postcard.server.decode(encode(postcard.server, m), 0);
        const b = msgpack.server.decode(encode(msgpack.server, m), 0);
        expect(
          a.ok && b.ok && messageToJson(a.message, "server") === messageToJson(b.message, "server"),
        ).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

function encode<M>(c: MessageCodec<M>, m: M): Uint8Array {
  const buf = new Uint8Array(c.encodingLength(m));
  c.encode(m, buf, 0);
  return buf;
}
