import { describe, expect, it } from "vitest";
import { MAX_DATAGRAM, payloadBytesPerMessage, StreamSender } from "../shared/audio/sender.js";
import type { Format, SampleType } from "../shared/format.js";
import type { U64 } from "../shared/u64.js";

const POSTCARD_HEADER = 17; // tag 1 + stream_idx 4 + byte_idx 8 + n_bytes 4
const MSGPACK_HEADER = 30; // a stand-in for a longer, value-dependent header

function f(sampleType: SampleType, channelCount: number, bufferSize: number): Format {
  return { sampleRate: 48000, channelCount, bufferSize, sampleType };
}

describe("payloadBytesPerMessage", () => {
  it("MAX_DATAGRAM is 1500 - 20 (IPv4) - 8 (UDP)", () => {
    expect(MAX_DATAGRAM).toBe(1472);
  });

  // [description, format, header length, expected payload bytes (hand-computed)]
  const cases: [string, Format, number, number][] = [
    // frame 8 bytes; buffer 32 frames = 256 bytes fits in 1455 (postcard) and 1442
    ["standard IEEF32 x2, 32 frames, postcard", f("IEEF32", 2, 32), POSTCARD_HEADER, 256],
    ["standard IEEF32 x2, 32 frames, long header", f("IEEF32", 2, 32), MSGPACK_HEADER, 256],
    // buffer 1024 x 8 = 8192 too big: floor(1455 / 8) = 181 frames = 1448; floor(1442 / 8) = 180 = 1440
    ["IEEF32 x2, 1024 frames, postcard", f("IEEF32", 2, 1024), POSTCARD_HEADER, 1448],
    ["IEEF32 x2, 1024 frames, long header", f("IEEF32", 2, 1024), MSGPACK_HEADER, 1440],
    // no buffer size: frame 6; floor(1455 / 6) = 242 = 1452; floor(1442 / 6) = 240 = 1440
    ["I24 x2, no buffer size, postcard", f("I24", 2, 0), POSTCARD_HEADER, 1452],
    ["I24 x2, no buffer size, long header", f("I24", 2, 0), MSGPACK_HEADER, 1440],
    // I16 mono: 727 frames = 1454 <= 1455 fits; 728 = 1456 does not -> 727 frames
    ["I16 x1, 727 frames (fits)", f("I16", 1, 727), POSTCARD_HEADER, 1454],
    ["I16 x1, 728 frames (1 byte too many)", f("I16", 1, 728), POSTCARD_HEADER, 1454],
    ["I16 x1, 728 frames, 16-byte header (fits exactly)", f("I16", 1, 728), 16, 1456],
    ["I16 x1, buffer size u32 max", f("I16", 1, 4294967295), POSTCARD_HEADER, 1454],
    // 400 channels x 8 bytes = 3200-byte frame: partial frames, the whole room
    ["IEEF64 x400 (frame > datagram), postcard", f("IEEF64", 400, 32), POSTCARD_HEADER, 1455],
    ["IEEF64 x400 (frame > datagram), long header", f("IEEF64", 400, 0), MSGPACK_HEADER, 1442],
    // U24 x485 = 1455-byte frame: exactly one frame with postcard; with 18 bytes of header, partial
    ["U24 x485, one frame exactly", f("U24", 485, 32), POSTCARD_HEADER, 1455],
    ["U24 x485, 18-byte header: partial", f("U24", 485, 32), 18, 1454],
    ["U64 x (2^32-1) channels", f("U64", 4294967295, 1), POSTCARD_HEADER, 1455],
    ["U8 x1, no header, no buffer size", f("U8", 1, 0), 0, 1472],
  ];
  for (const [desc, format, header, expected] of cases) {
    it(desc, () => {
      expect(payloadBytesPerMessage(format, header)).toBe(expected);
    });
  }

  it("throws on a header length outside [0, 1472)", () => {
    expect(() => payloadBytesPerMessage(f("U8", 1, 0), -1)).toThrow(/headerLength/);
    expect(() => payloadBytesPerMessage(f("U8", 1, 0), 1472)).toThrow(/headerLength/);
    expect(() => payloadBytesPerMessage(f("U8", 1, 0), 1.5)).toThrow(/headerLength/);
  });
});

describe("StreamSender", () => {
  it("stamps consecutive byte indices from 0 and counts", () => {
    const tx = new StreamSender(f("IEEF32", 2, 32), POSTCARD_HEADER);
    expect(tx.payloadBytes).toBe(256);
    const h: U64 = { hi: 7, lo: 7 };
    tx.claim(256, h);
    expect(h).toEqual({ hi: 0, lo: 0 });
    tx.claim(256, h);
    expect(h).toEqual({ hi: 0, lo: 256 });
    tx.claim(100, h);
    expect(h).toEqual({ hi: 0, lo: 512 });
    expect(tx.next).toEqual({ hi: 0, lo: 612 });
    expect(tx.messages).toBe(3);
    expect(tx.bytesSent).toBe(612);
  });

  it("carries into the high half at 2^32", () => {
    const tx = new StreamSender(f("U8", 1, 0), POSTCARD_HEADER);
    tx.next.lo = 0xffffff00;
    const h: U64 = { hi: 0, lo: 0 };
    tx.claim(0x200, h);
    expect(h).toEqual({ hi: 0, lo: 0xffffff00 });
    expect(tx.next).toEqual({ hi: 1, lo: 0x100 });
  });

  it("reset returns to IO start", () => {
    const tx = new StreamSender(f("U8", 1, 0), POSTCARD_HEADER);
    const h: U64 = { hi: 0, lo: 0 };
    tx.claim(10, h);
    tx.reset();
    expect(tx.next).toEqual({ hi: 0, lo: 0 });
    expect(tx.messages).toBe(0);
    expect(tx.bytesSent).toBe(0);
  });
});
