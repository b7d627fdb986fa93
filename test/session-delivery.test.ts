/**
 * The session's delivery check (host/client/delivery.ts): the due bytes and the delivered share
 * worked out by hand, and a real session against an emulated board whose audio the impairment
 * layer drops by half fails with the reason on one line, while the same session without loss
 * passes. UDP port 48320 belongs to this file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delivery, deliveryProblems } from "../host/client/delivery.js";
import { type InputReport, runSession } from "../host/client/session.js";
import type { Lan } from "../host/emulator/index.js";
import { firmwareBoards } from "./support/client-boards.js";

const F = { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" as const };

function input(over: Partial<InputReport>): InputReport {
  return {
    stream: 0,
    format: F,
    packets: 0,
    bytes: 0,
    gaps: 0,
    lostBytes: 0,
    reordered: 0,
    recoveredBytes: 0,
    duplicates: 0,
    jitterMs: 0,
    lateBytes: 0,
    underrunFrames: 0,
    underruns: 0,
    overflowBytes: 0,
    streamBytes: 0,
    lostPercent: 0,
    latency: undefined as never,
    recording: undefined,
    ...over,
  };
}

describe("delivery, by hand", () => {
  it("owes the IO time less the latency and one packet, in whole frames", () => {
    // 1000 ms of IO, 20 ms latency, 16 ms packets: 964 ms owed = 15424 frames = 30848 bytes
    const d = delivery(input({ streamBytes: 32000, lostBytes: 1000, lateBytes: 152 }), 1000, 20);
    expect(d.dueBytes).toBe(30848);
    expect(d.deliveredBytes).toBe(30848); // 32000 - 1152 = 30848, capped at what is due
    expect(d.percent).toBe(100);
    const half = delivery(input({ streamBytes: 30848, lostBytes: 15424 }), 1000, 20);
    expect(half.percent).toBe(50);
  });

  it("counts bytes the server skipped after its last packet: they are missing from the furthest index", () => {
    const d = delivery(input({ streamBytes: 10000 }), 1000, 20);
    expect(d.deliveredBytes).toBe(10000);
    expect(d.percent).toBeCloseTo((100 * 10000) / 30848, 6);
  });

  it("names each failing input with its figures, and nothing at 0 %", () => {
    const inputs = [
      input({ streamBytes: 30848 }),
      input({ stream: 1, streamBytes: 30848, lostBytes: 20000 }),
    ];
    expect(deliveryProblems(inputs, 1000, 20, 90)).toEqual([
      "in 1 delivered 35.2 % of the 30848 bytes due (lost 20000, late 0), below the 90 % required",
    ]);
    expect(deliveryProblems(inputs, 1000, 20, 0)).toEqual([]);
  });
});

describe("delivery, in a real session", () => {
  const PORT = 48320;
  let lan: Lan;
  beforeAll(async () => {
    lan = await firmwareBoards(1, PORT, [{ source: "pattern" }], [{ sink: "discard" }]);
  }, 30000);
  afterAll(async () => {
    await lan?.stop();
  });

  it("fails when half the audio is dropped on the way in, and passes without loss", async () => {
    const address = lan.boards[0]?.address as string;
    const lossy = await runSession(
      { address, port: PORT, impairment: { loss: 0.5, seed: 7, direction: "receive" } },
      { durationMs: 1500, connectTimeoutMs: 5000 },
    );
    expect(lossy.failure).toBeUndefined();
    expect(lossy.deliveryProblems.length).toBe(1);
    expect(lossy.deliveryProblems[0]).toMatch(
      /^in 0 delivered [1-7]\d\.\d % of the \d+ bytes due \(lost \d+, late \d+\), below the 90 % required$/,
    );
    const clean = await runSession({ address, port: PORT }, { durationMs: 1500, connectTimeoutMs: 5000 });
    expect(clean.failure).toBeUndefined();
    expect(clean.deliveryProblems).toEqual([]);
  }, 30000);
});
