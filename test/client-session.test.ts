/**
 * The client's Session API (host/client/session.ts) against emulated boards running the real
 * firmware: a recording under seeded loss is aligned by byte index (lost frames are silence in
 * whole packets, every other frame is the pattern at its index), a tone comes back sample for
 * sample through a loopback board, round trips are measured, and the msgpack build of the
 * firmware (built here) is spoken with msgpack. UDP ports 48400-48449 belong to this file.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSession } from "../host/client/session.js";
import type { Lan } from "../host/emulator/index.js";
import { buildFirmware } from "../scripts/build-firmware.js";
import { expectedPattern, firmwareBoards, readPcm, tempDir } from "./support/client-boards.js";

const PORT_PATTERN = 48400;
const PORT_LOOP = 48401;
const PORT_MSGPACK = 48402;
const lans: Lan[] = [];
let pattern = "";
let loop = "";
const tmp = tempDir("client-session-");

beforeAll(async () => {
  const p = await firmwareBoards(1, PORT_PATTERN, [{ source: "pattern" }], [{ sink: "discard" }]);
  const l = await firmwareBoards(1, PORT_LOOP, [{ source: "loopback" }], [{ sink: "loopback" }]);
  lans.push(p, l);
  pattern = p.boards[0]!.address;
  loop = l.boards[0]!.address;
}, 30000);

afterAll(async () => {
  await Promise.all(lans.map((l) => l.stop()));
  tmp.remove();
});

describe("Session against the real firmware", () => {
  it("under 5 % seeded loss, the recording keeps every frame at its index: pattern or silence", async () => {
    const file = join(tmp.dir, "lossy.wav");
    const r = await runSession(
      {
        address: pattern,
        port: PORT_PATTERN,
        record: file,
        impairment: { loss: 0.05, seed: 99, direction: "receive" },
      },
      { durationMs: 3000, connectTimeoutMs: 5000 },
    );
    expect(r.failure).toBeUndefined();
    const p = readPcm(file);
    expect(p.dataSize).toBe(p.fileSize - 44);
    let matched = 0;
    const silentPackets = new Set<number>();
    for (let f = 0; f < p.dataSize / 2; f++) {
      const lo = p.data[2 * f]!;
      const hi = p.data[2 * f + 1]!;
      if (lo === expectedPattern(2 * f, 0) && hi === expectedPattern(2 * f + 1, 0)) matched++;
      else if (lo === 0 && hi === 0) silentPackets.add(Math.floor(f / 256));
      else throw new Error(`frame ${f} is neither the pattern nor silence`);
    }
    // Silence comes in whole 256-frame packets: a packet is either all silence or all pattern.
    const silentFrames = p.dataSize / 2 - matched;
    expect(silentFrames).toBe(silentPackets.size * 256);
    expect(silentPackets.size).toBeGreaterThan(0);
    // Every silent packet is one the layer dropped (it may also have dropped a few control
    // datagrams, and audio after the last one that arrived, which leaves no gap).
    const dropped = (r.report.impairment!.receive as { dropped: number }).dropped;
    expect(silentPackets.size).toBeLessThanOrEqual(dropped);
    expect(silentPackets.size).toBeGreaterThanOrEqual(dropped - 4);
    // and the report says the same
    expect(r.report.inputs[0]!.lostBytes).toBe(silentFrames * 2);
  });

  it("a tone comes back through a loopback board sample for sample; round trips are measured", async () => {
    const file = join(tmp.dir, "tone.wav");
    const r = await runSession(
      {
        address: loop,
        port: PORT_LOOP,
        record: file,
        source: { kind: "tone", hz: 440, amplitude: 0.5 },
        checkLoopback: true,
      },
      { durationMs: 1500 },
    );
    expect(r.failure).toBeUndefined();
    expect(r.loopbackProblems).toEqual([]);
    const p = readPcm(file);
    const v = new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    const sent = r.report.outputs[0]!.bytes / 2;
    expect(sent).toBeGreaterThan(16000);
    let equal = 0;
    for (let n = 0; n < sent && n < p.dataSize / 2; n++) {
      const want = Math.round(0.5 * Math.sin((2 * Math.PI * 440 * n) / 16000) * 32767);
      if (v.getInt16(2 * n, true) === want) equal++;
    }
    expect(equal).toBe(Math.min(sent, p.dataSize / 2));
    expect(r.report.rtt.control.count).toBe(2);
    expect(r.report.rtt.loopback.count).toBeGreaterThan(50);
    expect(r.report.rtt.loopback.minMs).toBeLessThanOrEqual(r.report.rtt.loopback.meanMs);
  });

  it("speaks msgpack with the msgpack build of the firmware", async () => {
    const built = await buildFirmware({ msgpack: true, outDir: join(tmp.dir, "fw-msgpack") });
    const lan = await firmwareBoards(
      1,
      PORT_MSGPACK,
      [{ source: "loopback" }],
      [{ sink: "loopback" }],
      built.code,
    );
    lans.push(lan);
    const r = await runSession(
      {
        address: lan.boards[0]!.address,
        port: PORT_MSGPACK,
        codec: "msgpack",
        source: { kind: "pattern" },
        checkLoopback: true,
      },
      { durationMs: 1000 },
    );
    expect(r.failure).toBeUndefined();
    expect(r.report.codec).toBe("msgpack");
    expect(r.loopbackProblems).toEqual([]);
    expect(r.report.loopback[0]!.compared).toBeGreaterThan(20000);
    // 256 frames of I16 fit with the longest msgpack header (39 bytes): 512-byte payloads
    expect(r.report.outputs[0]!.bytes).toBe(r.report.outputs[0]!.packets * 512);
  }, 30000);

  it("a server that never answers: noAnswer, named, after the timeout", async () => {
    const r = await runSession(
      { address: "127.0.0.1", port: 48449 },
      { durationMs: 1000, connectTimeoutMs: 300 },
    );
    expect(r.failure?.kind).toBe("noAnswer");
    expect(r.failure?.message).toBe(
      "no answer from 127.0.0.1:48449 within 300 ms (is a server running there?)",
    );
    expect(r.report.formats).toBeUndefined();
  });
});
