import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  defaultMaxGapBytes,
  RECEIVE_ACCEPTED,
  RECEIVE_GAP,
  RECEIVE_INVALID,
  RECEIVE_OLD,
  RECEIVE_RESYNC,
  RECEIVE_SUSPECT,
  StreamReceiver,
  type StreamSink,
} from "../shared/audio/receiver.js";
import type { Format, SampleType } from "../shared/format.js";
import type { U64 } from "../shared/u64.js";

// Sizes and signedness written out here (not taken from format.ts), so the expectations are ours.
const SIZE: Record<SampleType, number> = {
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U24: 3,
  I24: 3,
  U32: 4,
  I32: 4,
  IEEF32: 4,
  U64: 8,
  I64: 8,
  IEEF64: 8,
};
const UNSIGNED: readonly SampleType[] = ["U8", "U16", "U24", "U32", "U64"];
const ALL_TYPES = Object.keys(SIZE) as SampleType[];

function fmt(t: SampleType): Format {
  return { sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: t };
}

function big(v: U64): bigint {
  return (BigInt(v.hi) << 32n) | BigInt(v.lo);
}

function u(n: bigint): U64 {
  return { hi: Number(n >> 32n), lo: Number(n & 0xffffffffn) };
}

/**
 * Collects the output. Checks that calls are contiguous, non-empty and whole samples, copies the
 * data during the call (the view is only valid then) and writes silence by its own rule: 0, and
 * 0x80 in the last byte of each sample for unsigned types.
 */
class Recorder implements StreamSink {
  out: number[] = [];
  calls: string[] = [];
  /** Optional check of each data byte against the stream, given the output offset. */
  onData: ((outByte: number, bytes: number[]) => void) | undefined;
  constructor(
    readonly size: number,
    readonly unsigned: boolean,
  ) {}
  private check(outByte: number, length: number): void {
    if (outByte !== this.out.length) throw new Error(`call at ${outByte}, output has ${this.out.length}`);
    if (length <= 0 || length % this.size !== 0) throw new Error(`call of ${length} bytes`);
  }
  data(outByte: number, buf: Uint8Array, start: number, length: number): void {
    this.check(outByte, length);
    const bytes = Array.from(buf.subarray(start, start + length));
    if (bytes.length !== length) throw new Error("range outside buf");
    if (this.onData) this.onData(outByte, bytes);
    for (const b of bytes) this.out.push(b);
    this.calls.push(`data ${outByte} ${length}`);
  }
  silence(outByte: number, length: number): void {
    this.check(outByte, length);
    for (let j = 0; j < length; j++) {
      this.out.push(this.unsigned && (outByte + j) % this.size === this.size - 1 ? 0x80 : 0);
    }
    this.calls.push(`silence ${outByte} ${length}`);
  }
}

/** A receiver; resyncs happen at once here (confirmResync: false) unless `confirm` is set. */
function setup(t: SampleType, maxGapBytes?: number, confirm = false) {
  const sink = new Recorder(SIZE[t], UNSIGNED.includes(t));
  const rx =
    maxGapBytes === undefined
      ? new StreamReceiver(fmt(t), sink, { confirmResync: confirm })
      : new StreamReceiver(fmt(t), sink, { maxGapBytes: maxGapBytes, confirmResync: confirm });
  return { sink, rx };
}

/** The accounting invariants every test checks after every step. */
function checkInvariants(rx: StreamReceiver, sink: Recorder): void {
  // Stream positions: skipped (origin) + output + held == expected, exactly.
  expect(big(rx.origin) + BigInt(rx.outputByte) + BigInt(rx.heldBytes)).toBe(big(rx.expected));
  expect(rx.outputByte).toBe(rx.bytesDelivered + rx.bytesLost);
  expect(rx.outputByte).toBe(sink.out.length);
  expect(rx.samplesPadded * rx.sampleBytes).toBe(rx.bytesLost);
  // Received bytes: delivered + dropped + (valid) held.
  expect(rx.bytesReceived).toBe(rx.bytesDelivered + rx.bytesDropped + (rx.heldIsLost ? 0 : rx.heldBytes));
  expect(rx.heldBytes).toBeLessThan(rx.sampleBytes);
  if (rx.heldBytes === 0) expect(rx.heldIsLost).toBe(false);
}

function send(rx: StreamReceiver, sink: Recorder, idx: number | bigint, bytes: number[]): number {
  const status = rx.receive(u(BigInt(idx)), Uint8Array.from(bytes));
  checkInvariants(rx, sink);
  return status;
}

describe("StreamReceiver: BEHAVIOUR.md worked example", () => {
  it("I24: bytes 0-3, then byte_idx 10 with 8 bytes -> s0, silence x3, s4, s5; expected 18", () => {
    const { rx, sink } = setup("I24");
    expect(send(rx, sink, 0, [0xa0, 0xa1, 0xa2, 0xa3])).toBe(RECEIVE_ACCEPTED); // stream bytes 0-3
    expect(send(rx, sink, 10, [0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1])).toBe(RECEIVE_GAP); // 10-17
    expect(sink.out).toEqual(
      [
        [0xa0, 0xa1, 0xa2], // s0: bytes 0-2
        [0, 0, 0], // s1: bytes 3-5 (byte 3 arrived, 4-5 lost)
        [0, 0, 0], // s2: bytes 6-8, all lost
        [0, 0, 0], // s3: bytes 9-11 (9 lost; 10, 11 arrived and dropped)
        [0xac, 0xad, 0xae], // s4: bytes 12-14
        [0xaf, 0xb0, 0xb1], // s5: bytes 15-17
      ].flat(),
    );
    expect(sink.calls).toEqual(["data 0 3", "silence 3 9", "data 12 6"]);
    expect(big(rx.expected)).toBe(18n);
    expect(rx.heldBytes).toBe(0);
    expect(rx.messages).toBe(2);
    expect(rx.gapMessages).toBe(1);
    expect(rx.bytesReceived).toBe(12);
    expect(rx.bytesDelivered).toBe(9);
    expect(rx.bytesDropped).toBe(3); // byte 3 (held), bytes 10 and 11
    expect(rx.bytesLost).toBe(9);
    expect(rx.samplesPadded).toBe(3);
  });

  it("U24: the same, with unsigned silence (0x80 in each sample's last byte)", () => {
    const { rx, sink } = setup("U24");
    send(rx, sink, 0, [0xa0, 0xa1, 0xa2, 0xa3]);
    send(rx, sink, 10, [0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1]);
    expect(sink.out).toEqual(
      [
        [0xa0, 0xa1, 0xa2], // s0
        [0x00, 0x00, 0x80], // s1: silence
        [0x00, 0x00, 0x80], // s2: silence
        [0x00, 0x00, 0x80], // s3: silence
        [0xac, 0xad, 0xae], // s4
        [0xaf, 0xb0, 0xb1], // s5
      ].flat(),
    );
  });
});

describe("StreamReceiver: 1-byte samples", () => {
  for (const [t, S] of [
    ["I8", 0x00],
    ["U8", 0x80],
  ] as const) {
    it(`${t}: lost bytes 3-4 become silence ${S}, output stays aligned`, () => {
      const { rx, sink } = setup(t);
      expect(send(rx, sink, 0, [0x01, 0x02, 0x03])).toBe(RECEIVE_ACCEPTED); // bytes 0-2
      expect(send(rx, sink, 5, [0x06, 0x07])).toBe(RECEIVE_GAP); // bytes 5-6
      expect(send(rx, sink, 7, [0x08])).toBe(RECEIVE_ACCEPTED); // byte 7
      expect(sink.out).toEqual([0x01, 0x02, 0x03, S, S, 0x06, 0x07, 0x08]);
      expect(sink.calls).toEqual(["data 0 3", "silence 3 2", "data 5 2", "data 7 1"]);
      expect(rx.bytesDropped).toBe(0); // a 1-byte sample is never incomplete
      expect(rx.bytesLost).toBe(2);
      expect(big(rx.expected)).toBe(8n);
    });
  }
});

describe("StreamReceiver: 3-byte samples", () => {
  it("U24: a loss across several samples (bytes 5-13)", () => {
    const { rx, sink } = setup("U24");
    send(rx, sink, 0, [0x40, 0x41, 0x42, 0x43, 0x44]); // bytes 0-4
    expect(send(rx, sink, 14, [0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54])).toBe(RECEIVE_GAP); // 14-20
    expect(sink.out).toEqual(
      [
        [0x40, 0x41, 0x42], // s0
        [0x00, 0x00, 0x80], // s1: 3-5, byte 5 lost (3, 4 dropped)
        [0x00, 0x00, 0x80], // s2: 6-8 lost
        [0x00, 0x00, 0x80], // s3: 9-11 lost
        [0x00, 0x00, 0x80], // s4: 12-14, 12-13 lost (14 dropped)
        [0x4f, 0x50, 0x51], // s5: 15-17
        [0x52, 0x53, 0x54], // s6: 18-20
      ].flat(),
    );
    expect(sink.calls).toEqual(["data 0 3", "silence 3 12", "data 15 6"]);
    expect(rx.bytesDropped).toBe(3);
    expect(rx.samplesPadded).toBe(4);
    expect(big(rx.expected)).toBe(21n);
  });

  it("I24: two whole packets lost among 4-byte packets; a sample completed across packets", () => {
    const { rx, sink } = setup("I24");
    send(rx, sink, 0, [0x60, 0x61, 0x62, 0x63]); // P0: bytes 0-3
    // P1 (4-7) and P2 (8-11) lost
    expect(send(rx, sink, 12, [0x6c, 0x6d, 0x6e, 0x6f])).toBe(RECEIVE_GAP); // P3: 12-15
    expect(send(rx, sink, 16, [0x70, 0x71, 0x72, 0x73])).toBe(RECEIVE_ACCEPTED); // P4: 16-19
    expect(sink.out).toEqual(
      [
        [0x60, 0x61, 0x62], // s0
        [0, 0, 0], // s1: 3-5 (3 arrived, dropped)
        [0, 0, 0], // s2
        [0, 0, 0], // s3
        [0x6c, 0x6d, 0x6e], // s4: 12-14
        [0x6f, 0x70, 0x71], // s5: 15 from P3, 16-17 from P4
      ].flat(),
    );
    expect(sink.calls).toEqual(["data 0 3", "silence 3 9", "data 12 3", "data 15 3"]);
    expect(rx.heldBytes).toBe(2); // bytes 18-19 wait for byte 20
    expect(rx.heldIsLost).toBe(false);
    expect(rx.bytesDropped).toBe(1);
    expect(rx.bytesDelivered).toBe(9);
    expect(big(rx.expected)).toBe(20n);
  });

  it("I24: a sample completed across two messages, then across the next two", () => {
    const { rx, sink } = setup("I24");
    expect(send(rx, sink, 0, [0x01, 0x02])).toBe(RECEIVE_ACCEPTED);
    expect(sink.out).toEqual([]); // nothing whole yet
    expect(rx.heldBytes).toBe(2);
    expect(send(rx, sink, 2, [0x03, 0x04])).toBe(RECEIVE_ACCEPTED);
    expect(sink.out).toEqual([0x01, 0x02, 0x03]);
    expect(send(rx, sink, 4, [0x05, 0x06])).toBe(RECEIVE_ACCEPTED);
    expect(sink.out).toEqual([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    expect(sink.calls).toEqual(["data 0 3", "data 3 3"]);
    expect(rx.bytesDropped).toBe(0);
  });
});

describe("StreamReceiver: 8-byte samples", () => {
  const cases: [SampleType, number][] = [
    ["I64", 0x00],
    ["IEEF64", 0x00],
    ["U64", 0x80],
  ];
  for (const [t, top] of cases) {
    it(`${t}: a loss inside a sample (byte 5) silences it and drops its other bytes`, () => {
      const { rx, sink } = setup(t);
      send(rx, sink, 0, [0x00, 0x01, 0x02, 0x03, 0x04]); // bytes 0-4
      // byte 5 lost; bytes 6-19 arrive
      const m = [0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13];
      expect(send(rx, sink, 6, m)).toBe(RECEIVE_GAP);
      expect(send(rx, sink, 20, [0x14, 0x15, 0x16, 0x17])).toBe(RECEIVE_ACCEPTED); // completes s2
      expect(sink.out).toEqual(
        [
          [0, 0, 0, 0, 0, 0, 0, top], // s0: bytes 0-7 (0-4 and 6-7 dropped)
          [0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f], // s1
          [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17], // s2, across two messages
        ].flat(),
      );
      expect(sink.calls).toEqual(["silence 0 8", "data 8 8", "data 16 8"]);
      expect(rx.bytesReceived).toBe(23);
      expect(rx.bytesDropped).toBe(7);
      expect(rx.bytesDelivered).toBe(16);
      expect(big(rx.expected)).toBe(24n);
    });
  }

  it("U64: a sample completed across three messages", () => {
    const { rx, sink } = setup("U64");
    send(rx, sink, 0, [1, 2, 3]);
    send(rx, sink, 3, [4, 5, 6]);
    expect(sink.out).toEqual([]);
    send(rx, sink, 6, [7, 8, 9]);
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rx.heldBytes).toBe(1);
  });

  it("U64: a gap that ends inside a sample with a message too short to reach its end", () => {
    const { rx, sink } = setup("U64");
    send(rx, sink, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // bytes 0-9: s0 whole, 2 bytes of s1
    // bytes 10-11 lost; bytes 12-13 arrive: s1 (8-15) can no longer arrive whole
    expect(send(rx, sink, 12, [13, 14])).toBe(RECEIVE_GAP);
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // s1 not emitted yet: still incomplete
    expect(rx.heldBytes).toBe(6);
    expect(rx.heldIsLost).toBe(true);
    expect(send(rx, sink, 14, [15, 16, 17, 18])).toBe(RECEIVE_ACCEPTED); // bytes 14-17
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    expect(sink.calls).toEqual(["data 0 8", "silence 8 8"]);
    expect(rx.heldBytes).toBe(2); // bytes 16-17, valid
    expect(rx.heldIsLost).toBe(false);
    expect(rx.bytesDropped).toBe(6); // 8, 9, 12, 13, 14, 15
  });
});

describe("StreamReceiver: reordered, duplicated and overlapping messages", () => {
  it("I24: A, C, B -> B discarded (its bytes are silence); duplicates of A and C discarded", () => {
    const { rx, sink } = setup("I24");
    expect(send(rx, sink, 0, [1, 2, 3])).toBe(RECEIVE_ACCEPTED); // A: 0-2
    expect(send(rx, sink, 6, [7, 8, 9])).toBe(RECEIVE_GAP); // C: 6-8
    expect(send(rx, sink, 3, [4, 5, 6])).toBe(RECEIVE_OLD); // B: 3-5, late
    expect(send(rx, sink, 6, [7, 8, 9])).toBe(RECEIVE_OLD); // C again
    expect(send(rx, sink, 0, [1, 2, 3])).toBe(RECEIVE_OLD); // A again
    expect(send(rx, sink, 7, [8, 9, 10, 11])).toBe(RECEIVE_OLD); // starts before 9, ends after: whole discarded
    expect(sink.out).toEqual([1, 2, 3, 0, 0, 0, 7, 8, 9]);
    expect(rx.oldMessages).toBe(4);
    expect(rx.messages).toBe(6);
    expect(rx.bytesReceived).toBe(6);
    expect(big(rx.expected)).toBe(9n);
    expect(send(rx, sink, 9, [10, 11, 12])).toBe(RECEIVE_ACCEPTED);
    expect(sink.out).toEqual([1, 2, 3, 0, 0, 0, 7, 8, 9, 10, 11, 12]);
  });
});

describe("StreamReceiver: zero-length messages", () => {
  it("at expected: accepted, nothing changes; old: discarded", () => {
    const { rx, sink } = setup("I24");
    send(rx, sink, 0, [1, 2, 3, 4]);
    expect(send(rx, sink, 4, [])).toBe(RECEIVE_ACCEPTED);
    expect(rx.heldBytes).toBe(1);
    expect(rx.heldIsLost).toBe(false);
    expect(send(rx, sink, 2, [])).toBe(RECEIVE_OLD);
    expect(sink.calls).toEqual(["data 0 3"]);
    expect(send(rx, sink, 4, [5, 6])).toBe(RECEIVE_ACCEPTED);
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("ahead, on a sample boundary: reveals the gap, padded at once", () => {
    const { rx, sink } = setup("U24");
    send(rx, sink, 0, [1, 2, 3, 4]);
    expect(send(rx, sink, 9, [])).toBe(RECEIVE_GAP);
    expect(sink.out).toEqual([1, 2, 3, 0, 0, 0x80, 0, 0, 0x80]);
    expect(rx.heldBytes).toBe(0);
    expect(rx.bytesDropped).toBe(1);
    expect(big(rx.expected)).toBe(9n);
  });

  it("ahead, inside a sample: whole lost samples padded, the straddled one when it completes", () => {
    const { rx, sink } = setup("U24");
    expect(send(rx, sink, 4, [])).toBe(RECEIVE_GAP); // bytes 0-3 lost
    expect(sink.out).toEqual([0, 0, 0x80]); // s0
    expect(rx.heldBytes).toBe(1);
    expect(rx.heldIsLost).toBe(true);
    expect(send(rx, sink, 4, [0x15, 0x16, 0x17, 0x18])).toBe(RECEIVE_ACCEPTED); // bytes 4-7
    expect(sink.out).toEqual([0, 0, 0x80, 0, 0, 0x80]); // s1 (3-5): silence
    expect(sink.calls).toEqual(["silence 0 3", "silence 3 3"]);
    expect(rx.heldBytes).toBe(2); // bytes 6-7, valid
    expect(rx.heldIsLost).toBe(false);
    expect(rx.bytesDropped).toBe(2); // bytes 4-5
  });

  it("two small gaps inside the same sample", () => {
    const { rx, sink } = setup("I64");
    send(rx, sink, 0, [1, 2]); // bytes 0-1
    expect(send(rx, sink, 3, [4])).toBe(RECEIVE_GAP); // byte 2 lost
    expect(send(rx, sink, 5, [6])).toBe(RECEIVE_GAP); // byte 4 lost
    expect(sink.out).toEqual([]);
    expect(rx.heldBytes).toBe(6);
    expect(rx.heldIsLost).toBe(true);
    send(rx, sink, 6, [7, 8, 9, 10, 11, 12, 13, 14, 15, 16]); // bytes 6-15
    expect(sink.out).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(rx.bytesDropped).toBe(6); // 0, 1, 3, 5, 6, 7
  });
});

describe("StreamReceiver: huge gaps and large indices", () => {
  it("default maxGapBytes is 3 s of audio: I24 stereo at 48 kHz = 144000 frames x 6 bytes", () => {
    expect(defaultMaxGapBytes(fmt("I24"))).toBe(864000);
    const { rx } = setup("I24");
    expect(rx.maxGapBytes).toBe(864000);
    // Bounds: at least 64 KiB, at most 1 GiB.
    expect(defaultMaxGapBytes({ sampleRate: 1, channelCount: 1, bufferSize: 0, sampleType: "U8" })).toBe(
      65536,
    );
    expect(defaultMaxGapBytes({ sampleRate: 1e300, channelCount: 1, bufferSize: 0, sampleType: "U8" })).toBe(
      1073741824,
    );
  });

  it("rejects a bad maxGapBytes option", () => {
    const sink = new Recorder(1, false);
    expect(() => new StreamReceiver(fmt("I8"), sink, { maxGapBytes: -1 })).toThrow(/maxGapBytes/);
    expect(() => new StreamReceiver(fmt("I8"), sink, { maxGapBytes: 1.5 })).toThrow(/maxGapBytes/);
    expect(() => new StreamReceiver(fmt("I8"), sink, { maxGapBytes: 4294967296 })).toThrow(/maxGapBytes/);
  });

  it("gap == maxGapBytes is padded; gap == maxGapBytes + 1 resynchronises without silence", () => {
    const { rx, sink } = setup("U8", 4);
    send(rx, sink, 0, [1]);
    expect(send(rx, sink, 5, [6])).toBe(RECEIVE_GAP); // gap of 4: bytes 1-4
    expect(send(rx, sink, 11, [12])).toBe(RECEIVE_RESYNC); // gap of 5: bytes 6-10 skipped
    expect(sink.out).toEqual([1, 0x80, 0x80, 0x80, 0x80, 6, 12]);
    expect(sink.calls).toEqual(["data 0 1", "silence 1 4", "data 5 1", "data 6 1"]);
    expect(rx.resyncs).toBe(1);
    expect(big(rx.origin)).toBe(5n); // output byte 6 is stream byte 11
    expect(big(rx.expected)).toBe(12n);
    expect(send(rx, sink, 12, [13])).toBe(RECEIVE_ACCEPTED);
    expect(send(rx, sink, 3, [4])).toBe(RECEIVE_OLD);
  });

  it("I24: byte_idx 2^64-1 -> resync, no silence, no allocation; then the u64 space is full", () => {
    const { rx, sink } = setup("I24");
    send(rx, sink, 0, [1, 2, 3, 4]);
    const top = 0xffffffffffffffffn; // 2^64-1 = 0 mod 3 (2^64 = 1 mod 3)
    expect(send(rx, sink, top, [])).toBe(RECEIVE_RESYNC);
    expect(sink.calls).toEqual(["data 0 3"]); // nothing emitted for the gap
    expect(rx.expected).toEqual({ hi: 0xffffffff, lo: 0xffffffff });
    expect(rx.origin).toEqual({ hi: 0xffffffff, lo: 0xfffffffc }); // 2^64-1 - 3
    expect(rx.bytesDropped).toBe(1); // the held byte 3
    expect(rx.heldBytes).toBe(0);
    // A byte at 2^64-1 would make expected 2^64: invalid.
    expect(send(rx, sink, top, [9])).toBe(RECEIVE_INVALID);
    expect(rx.invalidMessages).toBe(1);
    expect(send(rx, sink, 3, [4, 5, 6])).toBe(RECEIVE_OLD);
    expect(sink.out).toEqual([1, 2, 3]);
  });

  it("I24: 8 bytes at 2^64-9 (inside a sample) after a resync", () => {
    const { rx, sink } = setup("I24");
    send(rx, sink, 0, [1, 2, 3, 4]);
    // 2^64-9 = 1 mod 3: its sample starts at 2^64-10, whose first byte is lost.
    expect(send(rx, sink, 0xfffffffffffffff7n, [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8])).toBe(
      RECEIVE_RESYNC,
    );
    expect(sink.out).toEqual([1, 2, 3, 0, 0, 0, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8]);
    expect(sink.calls).toEqual(["data 0 3", "silence 3 3", "data 6 6"]);
    expect(rx.expected).toEqual({ hi: 0xffffffff, lo: 0xffffffff });
    expect(rx.origin).toEqual({ hi: 0xffffffff, lo: 0xfffffff3 }); // 2^64-10 - 3
    expect(rx.bytesDropped).toBe(3); // byte 3, then 0xa1, 0xa2
  });

  it("U24: indices above 2^53 (after a resync to 2^60+1)", () => {
    const { rx, sink } = setup("U24");
    // 2^60 = 1 mod 3, so 2^60+1 = 2 mod 3: its sample starts at 2^60-1, two bytes lost.
    expect(send(rx, sink, (1n << 60n) + 1n, [0xc1, 0xc2, 0xc3, 0xc4])).toBe(RECEIVE_RESYNC);
    expect(rx.origin).toEqual({ hi: 0x0fffffff, lo: 0xffffffff }); // 2^60-1
    expect(rx.expected).toEqual({ hi: 0x10000000, lo: 5 });
    expect(sink.out).toEqual([0, 0, 0x80, 0xc2, 0xc3, 0xc4]);
    // bytes 2^60+5 .. +10 lost (two whole samples), then 4 bytes at 2^60+11
    expect(send(rx, sink, (1n << 60n) + 11n, [0xd1, 0xd2, 0xd3, 0xd4])).toBe(RECEIVE_GAP);
    expect(sink.out).toEqual([0, 0, 0x80, 0xc2, 0xc3, 0xc4, 0, 0, 0x80, 0, 0, 0x80, 0xd1, 0xd2, 0xd3]);
    expect(sink.calls).toEqual(["silence 0 3", "data 3 3", "silence 6 6", "data 12 3"]);
    expect(rx.expected).toEqual({ hi: 0x10000000, lo: 15 });
    expect(rx.heldBytes).toBe(1);
    expect(send(rx, sink, (1n << 60n) + 10n, [0])).toBe(RECEIVE_OLD);
  });

  it("I8: carries across the 32-bit boundary above 2^53", () => {
    const { rx, sink } = setup("I8");
    const at = (0x00300000n << 32n) | 0xfffffffen; // > 2^53
    expect(send(rx, sink, at, [1, 2, 3, 4])).toBe(RECEIVE_RESYNC);
    expect(rx.expected).toEqual({ hi: 0x00300001, lo: 2 });
    expect(send(rx, sink, at + 4n, [5])).toBe(RECEIVE_ACCEPTED);
    expect(send(rx, sink, at + 7n, [8])).toBe(RECEIVE_GAP);
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 0, 0, 8]);
    expect(rx.expected).toEqual({ hi: 0x00300001, lo: 6 });
  });

  it("receiveFrom reads a range of a larger buffer (the datagram after its header)", () => {
    const { rx, sink } = setup("I24");
    const datagram = Uint8Array.from([0xee, 0xee, 1, 2, 3, 4, 5, 6, 0xee]);
    expect(rx.receiveFrom({ hi: 0, lo: 0 }, datagram, 2, 6)).toBe(RECEIVE_ACCEPTED);
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("reset returns to IO start", () => {
    const { rx, sink } = setup("I24");
    send(rx, sink, 0, [1, 2, 3, 4]);
    rx.reset();
    expect(rx.expected).toEqual({ hi: 0, lo: 0 });
    expect(rx.outputByte + rx.heldBytes + rx.messages + rx.bytesReceived).toBe(0);
  });
});

describe("StreamReceiver: property tests", () => {
  /** A random stream cut into messages, delivered with loss, duplication and local reordering. */
  const scenario = fc.record({
    type: fc.constantFrom(...ALL_TYPES),
    stream: fc.uint8Array({ maxLength: 160 }),
    cuts: fc.array(fc.nat(160), { maxLength: 30 }), // repeated cuts make zero-length messages
    plan: fc.array(fc.tuple(fc.nat(9), fc.nat(4), fc.nat(6)), { minLength: 32, maxLength: 32 }),
  });

  function deliveries(stream: Uint8Array, cuts: number[], plan: [number, number, number][]) {
    const n = stream.length;
    const points = [0, ...cuts.filter((c) => c <= n), n].sort((a, b) => a - b);
    const out: { start: number; end: number; key: number }[] = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [fate, delay, dupDelay] = plan[i] as [number, number, number];
      const start = points[i] as number;
      const end = points[i + 1] as number;
      if (fate <= 1) continue; // lost (20 %)
      out.push({ start, end, key: i + delay + i / 1000 });
      if (fate === 2) out.push({ start, end, key: i + dupDelay + 0.5 + i / 1000 }); // duplicated (10 %)
    }
    return out.sort((a, b) => a.key - b.key);
  }

  it("whole-arrived samples land at their index, all others are silence, every byte accounted for", () => {
    fc.assert(
      fc.property(scenario, ({ type, stream, cuts, plan }) => {
        const s = SIZE[type];
        const { rx, sink } = setup(type);
        sink.onData = (outByte, bytes) => {
          const at = Number(big(rx.origin)) + outByte;
          expect(bytes).toEqual(Array.from(stream.subarray(at, at + bytes.length)));
        };
        // Oracle: the spec's rule on byte indices alone.
        let exp = 0;
        let received = 0;
        let old = 0;
        let gaps = 0;
        const arrived = new Uint8Array(stream.length);
        const list = deliveries(stream, cuts, plan);
        for (const d of list) {
          const status = rx.receive(u(BigInt(d.start)), stream.slice(d.start, d.end));
          checkInvariants(rx, sink);
          if (d.start < exp) {
            old++;
            expect(status).toBe(RECEIVE_OLD);
            continue;
          }
          expect(status).toBe(d.start === exp ? RECEIVE_ACCEPTED : RECEIVE_GAP);
          if (d.start > exp) gaps++;
          arrived.fill(1, d.start, d.end);
          received += d.end - d.start;
          exp = d.end;
        }
        const outLen = exp - (exp % s);
        const expected: number[] = [];
        let delivered = 0;
        for (let k = 0; k < outLen; k += s) {
          const whole = arrived.subarray(k, k + s).every((b) => b === 1);
          for (let j = 0; j < s; j++) {
            if (whole) expected.push(stream[k + j] as number);
            else expected.push(UNSIGNED.includes(type) && j === s - 1 ? 0x80 : 0);
          }
          if (whole) delivered += s;
        }
        expect(sink.out).toEqual(expected);
        const held = exp - outLen;
        const heldValid = held > 0 && arrived.subarray(outLen, exp).every((b) => b === 1);
        expect(big(rx.expected)).toBe(BigInt(exp));
        expect(rx.heldBytes).toBe(held);
        expect(rx.heldIsLost).toBe(held > 0 && !heldValid);
        expect(rx.messages).toBe(list.length);
        expect(rx.oldMessages).toBe(old);
        expect(rx.gapMessages).toBe(gaps);
        expect(rx.resyncs).toBe(0);
        expect(rx.bytesReceived).toBe(received);
        expect(rx.bytesDelivered).toBe(delivered);
        expect(rx.bytesLost).toBe(outLen - delivered);
        expect(rx.bytesDropped).toBe(received - delivered - (heldValid ? held : 0));
      }),
      { numRuns: 1000 },
    );
  });

  it("with a tiny maxGapBytes (resyncs): delivered bytes are the stream's, invariants hold", () => {
    fc.assert(
      fc.property(scenario, fc.nat(10), ({ type, stream, cuts, plan }, maxGap) => {
        const { rx, sink } = setup(type, maxGap);
        sink.onData = (outByte, bytes) => {
          const at = Number(big(rx.origin)) + outByte;
          expect(bytes).toEqual(Array.from(stream.subarray(at, at + bytes.length)));
        };
        for (const d of deliveries(stream, cuts, plan)) {
          const before = big(rx.expected);
          const status = rx.receive(u(BigInt(d.start)), stream.slice(d.start, d.end));
          checkInvariants(rx, sink);
          const start = BigInt(d.start);
          if (start < before) expect(status).toBe(RECEIVE_OLD);
          else if (start === before) expect(status).toBe(RECEIVE_ACCEPTED);
          else expect(status).toBe(start - before > BigInt(maxGap) ? RECEIVE_RESYNC : RECEIVE_GAP);
          if (status !== RECEIVE_OLD) expect(big(rx.expected)).toBe(BigInt(d.end));
          else expect(big(rx.expected)).toBe(before);
        }
        // Silence never exceeds the cap plus two samples in one call.
        for (const c of sink.calls) {
          const [kind, , len] = c.split(" ");
          if (kind === "silence") expect(Number(len)).toBeLessThanOrEqual(maxGap + 2 * SIZE[type]);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("StreamReceiver: a large jump needs confirming (the default)", () => {
  it("one stray datagram near 2^64 is set aside and the stream goes on untouched", () => {
    const { rx, sink } = setup("I16", undefined, true);
    expect(send(rx, sink, 0, [1, 2, 3, 4])).toBe(RECEIVE_ACCEPTED);
    expect(send(rx, sink, 0xfffffffffffffff0n, [9, 9])).toBe(RECEIVE_SUSPECT);
    expect(rx.suspectMessages).toBe(1);
    expect(rx.resyncs).toBe(0);
    expect(big(rx.expected)).toBe(4n);
    expect(send(rx, sink, 4, [5, 6])).toBe(RECEIVE_ACCEPTED); // the real stream continues
    expect(sink.out).toEqual([1, 2, 3, 4, 5, 6]);
    // the suspect is forgotten: a message at its end is just another suspect
    expect(send(rx, sink, 0xfffffffffffffff2n, [7, 7])).toBe(RECEIVE_SUSPECT);
    expect(rx.resyncs).toBe(0);
    expect(rx.bytesReceived).toBe(6); // suspects are discarded, not received
  });

  it("a jump confirmed by the next message resynchronises at that message", () => {
    const { rx, sink } = setup("U8", 4, true);
    send(rx, sink, 0, [1]);
    expect(send(rx, sink, 100, [2, 3])).toBe(RECEIVE_SUSPECT);
    expect(send(rx, sink, 50, [0])).toBe(RECEIVE_SUSPECT); // another jump replaces the suspect
    expect(send(rx, sink, 51, [4])).toBe(RECEIVE_RESYNC); // continues 50..51: confirmed
    expect(sink.out).toEqual([1, 4]);
    expect(big(rx.origin)).toBe(50n); // output byte 1 is stream byte 51
    expect(rx.resyncs).toBe(1);
    expect(rx.suspectMessages).toBe(2);
    expect(send(rx, sink, 52, [5])).toBe(RECEIVE_ACCEPTED);
    expect(send(rx, sink, 1, [9])).toBe(RECEIVE_OLD);
  });

  it("old messages between a suspect and its confirmation do not cancel it", () => {
    const { rx, sink } = setup("U8", 4, true);
    send(rx, sink, 0, [1, 2]);
    expect(send(rx, sink, 1000, [3])).toBe(RECEIVE_SUSPECT);
    expect(send(rx, sink, 0, [1])).toBe(RECEIVE_OLD);
    expect(send(rx, sink, 1001, [4])).toBe(RECEIVE_RESYNC);
    expect(sink.out).toEqual([1, 2, 4]);
  });
});
