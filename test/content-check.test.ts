/**
 * The content check on a receiver's output: every delivered byte compared with the test pattern
 * at its index, padding counted. Expected bytes come from the pattern's definition, written out
 * here; the receiver is the real StreamReceiver fed by hand-made messages.
 */
import { describe, expect, it } from "vitest";
import { ContentCheck, describeContent } from "../host/client/content.js";
import { patternSource } from "../host/client/sources.js";
import { RECEIVE_GAP, RECEIVE_OLD, StreamReceiver } from "../shared/audio/receiver.js";
import type { Format } from "../shared/format.js";

const I16_MONO: Format = { sampleRate: 16000, channelCount: 1, bufferSize: 4, sampleType: "I16" };
const byteOf = (k: number, s: number): number => (k * 31 + s * 7) & 0xff;
const message = (from: number, n: number, s: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => byteOf(from + i, s));

describe("ContentCheck", () => {
  it("compares what the receiver delivers at its index and counts padded bytes", () => {
    const check = new ContentCheck(1, patternSource(1));
    const rx = new StreamReceiver(I16_MONO, check, { maxGapBytes: 1 << 20 });
    const at = (k: number) => ({ hi: 0, lo: k });
    expect(rx.receive(at(0), message(0, 8, 1))).not.toBe(RECEIVE_GAP);
    // bytes 8..15 lost: padded when bytes 16..23 arrive
    expect(rx.receive(at(16), message(16, 8, 1))).toBe(RECEIVE_GAP);
    // the lost message arriving late is discarded: its bytes stay padding
    expect(rx.receive(at(8), message(8, 8, 1))).toBe(RECEIVE_OLD);
    const v = check.verdict();
    expect([v.compared, v.mismatched, v.padded, v.ok]).toEqual([16, 0, 8, true]);
    expect(describeContent(v)).toBe("in 1 = pattern: 16 bytes compared, all equal; 8 bytes padded");
  });

  it("names the first byte that differs", () => {
    const check = new ContentCheck(0, patternSource(0));
    const wrong = message(24, 8, 0);
    wrong[3] = (wrong[3] as number) ^ 0x40; // byte 27: (27*31) & 0xff = 0x45, sent as 0x05
    check.data(24, wrong, 0, 8);
    check.data(32, message(32, 4, 0), 0, 4);
    const v = check.verdict();
    expect([v.compared, v.mismatched, v.ok]).toEqual([12, 1, false]);
    expect(v.firstMismatch).toEqual({ byte: 27, got: 0x05, expected: 0x45 });
    expect(describeContent(v)).toBe(
      "in 0 = pattern: 1 of 12 bytes compared differ (first at byte 27: got 0x05, expected 0x45); 0 bytes padded",
    );
  });

  it("is not ok when nothing was compared", () => {
    const check = new ContentCheck(0, patternSource(0));
    check.silence(0, 64);
    expect(check.verdict().ok).toBe(false);
    expect(describeContent(check.verdict())).toBe(
      "in 0 = pattern: nothing received (0 bytes compared); 64 bytes padded",
    );
  });
});
