/**
 * Overload on the real interpreter (ESPRUINO_BIN): a pattern input far beyond what the
 * interpreter can send (96 kHz stereo I16 in 16-frame packets: 6,000 datagrams/s of 64-byte
 * payloads). Espruino's `send` never refuses, so a firmware that did not pace itself by what
 * actually leaves would grow its send queue, and memory, without bound (ESPRUINO.md: 3,700 to
 * 26,000 blocks in 4 s). This shows the firmware instead:
 * - keeps blocks in use within 10 % of their value at IO start, sampled every 0.5 s;
 * - answers Stop within 200 ms;
 * - skips what it cannot send, counted on its status line, and the client's report shows those
 *   bytes as lost (byte indices advanced over them), while every byte that did arrive is the
 *   pattern at its index.
 * UDP port 46040.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Session } from "../../host/client/session.js";
import { type InterpreterBoards, startInterpreterBoards } from "../../host/espruino/boards.js";
import type { EspruinoInterpreter } from "../../host/espruino/interpreter.js";
import { describeReal, espruinoBin, FIRMWARE_MIN, firmwareFile, readHealth } from "../support/real-boards.js";

const PORT = 46040;
const HEAVY = { sampleRate: 96000, channelCount: 2, bufferSize: 16, sampleType: "I16", source: "pattern" };
const STREAM_MS = 4000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeReal("overload on the real interpreter: memory flat, Stop answered, skips reported as loss", () => {
  let boards: InterpreterBoards | undefined;
  let board: EspruinoInterpreter;

  beforeAll(async () => {
    boards = await startInterpreterBoards({
      bin: espruinoBin(),
      firmwarePath: firmwareFile(FIRMWARE_MIN),
      config: {
        statusEveryMs: 1000,
        inputs: [HEAVY],
        outputs: [{ sink: "discard" }],
      },
      port: PORT,
    });
    board = boards.boards[0]?.interpreter as EspruinoInterpreter;
    await board.openConsole();
  });

  afterAll(async () => {
    await boards?.stop();
  });

  it("streams 6,000 packets/s due: skips and counts, memory within 10 %, Stop within 200 ms", async () => {
    const session = await Session.open({
      address: "127.0.0.1",
      port: PORT,
      expect: { kind: "pattern" },
      minDeliveredPercent: 0,
    });
    const usage: number[] = [];
    let report: ReturnType<Session["report"]>;
    let stopMs = Number.NaN;
    let stopped = false;
    try {
      await session.connect(5000);
      await session.startIO();
      usage.push((await readHealth(board, "overload: IO started")).usage);
      const run = session.run(STREAM_MS);
      const sampler = (async () => {
        const end = Date.now() + STREAM_MS - 600;
        while (Date.now() < end) {
          await sleep(500);
          usage.push((await board.health()).usage);
        }
      })();
      await Promise.all([run, sampler]);
      usage.push((await readHealth(board, "overload: before Stop")).usage);
      const t0 = performance.now();
      stopped = await session.stopIO(1200);
      stopMs = performance.now() - t0;
    } finally {
      session.close();
      report = session.report();
    }
    const skippedLines = board.lines
      .map((l) => /skipped (\d+)/.exec(l.text)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number);
    const skipped = Math.max(0, ...skippedLines);
    const input = report.inputs[0];
    console.log(
      `overload: blocks in use ${usage.join(", ")}; Stop(Ok) after ${stopMs.toFixed(1)} ms; board skipped ${skipped} packets; ` +
        `client: ${input?.packets} packets, ${input?.lostBytes} bytes lost of ${input?.streamBytes} (${input?.lostPercent.toFixed(1)} %)`,
    );
    // memory flat: every sample within 10 % of the value at IO start
    expect(usage.length).toBeGreaterThanOrEqual(4);
    const base = usage[0] as number;
    for (const u of usage) expect(Math.abs(u - base) / base).toBeLessThanOrEqual(0.1);
    // Stop answered, within 200 ms
    expect(stopped).toBe(true);
    expect(stopMs).toBeLessThan(200);
    // the board skipped audio and said so; the client reports it as loss, and what came is right
    expect(skipped).toBeGreaterThan(0);
    expect(input?.lostBytes).toBeGreaterThan(0);
    expect(input?.lostBytes).toBeGreaterThanOrEqual(64 * Math.min(skipped, 100));
    expect(report.content[0]?.ok).toBe(true);
  });
});
