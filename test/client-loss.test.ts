/**
 * A 60-second session against an emulated board running the real firmware, with 5 % loss
 * injected by the seeded impairment layer around the client's UDP socket (received datagrams):
 * the loss the client reports must be the loss it was given, within one percentage point, both
 * against the nominal 5 % and against the layer's own count of what it dropped.
 *
 * This file holds only this test so that it runs in parallel with the other files (vitest runs
 * files in parallel); its real duration is the full 60 s. UDP port 48300 belongs to this file.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { runSession } from "../host/client/session.js";
import type { Lan } from "../host/emulator/index.js";
import { firmwareBoards } from "./support/client-boards.js";

const PORT = 48300;
let lan: Lan;

beforeAll(async () => {
  lan = await firmwareBoards(1, PORT, [{ source: "pattern" }], [{ sink: "discard" }]);
}, 30000);

afterAll(async () => {
  await lan?.stop();
});

it("reports the 5 % loss injected around the client's socket within one percentage point (60 s)", async () => {
  const r = await runSession(
    {
      address: lan.boards[0]!.address,
      port: PORT,
      source: { kind: "pattern" },
      impairment: { loss: 0.05, seed: 20240605, direction: "receive" },
    },
    { durationMs: 60000, connectTimeoutMs: 5000 },
  );
  expect(r.failure).toBeUndefined();
  const input = r.report.inputs[0]!;
  const layer = r.report.impairment!.receive as { sent: number; dropped: number };
  const injectedPercent = (100 * layer.dropped) / layer.sent;
  // 60 s of 62.5 packets/s: thousands of packets, so the seeded draw is close to 5 % itself.
  expect(layer.sent).toBeGreaterThan(3500);
  expect(Math.abs(injectedPercent - 5)).toBeLessThan(1);
  expect(input.packets).toBeGreaterThan(3300);
  expect(Math.abs(input.lostPercent - 5)).toBeLessThan(1);
  expect(Math.abs(input.lostPercent - injectedPercent)).toBeLessThan(1);
  // Loss is all it was given: nothing reordered or duplicated by the layer.
  expect(input.reordered).toBe(0);
  expect(input.duplicates).toBe(0);
  console.log(
    `60 s at 5 % loss: client reports ${input.lostPercent.toFixed(2)} % lost ` +
      `(${input.lostBytes} of ${input.lostBytes + input.bytes} bytes); the layer dropped ` +
      `${layer.dropped} of ${layer.sent} datagrams (${injectedPercent.toFixed(2)} %)`,
  );
}, 120000);
