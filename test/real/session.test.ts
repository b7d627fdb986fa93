/**
 * The real-interpreter tier (ESPRUINO_BIN): build/firmware/syfala.min.js, the file a board
 * receives, on the real Espruino interpreter, met by the project's client (see
 * test/support/real-session-suite.ts); then a pattern board checked byte by byte by `syfala
 * session --expect-pattern`, on the Linux build's own path (no Wifi module). One interpreter
 * at a time. UDP ports 46000-46019.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { InterpreterBoards } from "../../host/espruino/boards.js";
import type { EspruinoInterpreter } from "../../host/espruino/interpreter.js";
import { runCli } from "../support/cli.js";
import {
  BOOT_FLAGS_FROM_RAM,
  describeReal,
  FIRMWARE_MIN,
  readHealth,
  realBoard,
} from "../support/real-boards.js";
import { realSessionSuite } from "../support/real-session-suite.js";

describeReal("syfala.min.js on the real interpreter: boot, discovery, a session both ways, attacks", () => {
  realSessionSuite(FIRMWARE_MIN, "postcard", 46000);
});

describeReal("a pattern board on the real interpreter, without a Wifi module (the Linux build's own)", () => {
  const port = 46010;
  let boards: InterpreterBoards | undefined;
  let board: EspruinoInterpreter;

  beforeAll(async () => {
    const started = await realBoard(FIRMWARE_MIN, port, [{ source: "pattern" }], [{ sink: "discard" }]);
    boards = started.boards;
    board = started.interpreter;
  });

  afterAll(async () => {
    await boards?.stop();
  });

  it("serves at once, and syfala session --expect-pattern finds every byte at its index", async () => {
    expect(board.linesSince(0)).toContain("wifi: absent no Wifi");
    const h = await readHealth(board, "pattern board: idle after boot (code in RAM)");
    for (const f of h.errorFlags) expect(BOOT_FLAGS_FROM_RAM).toContain(f);
    const r = await runCli([
      "session",
      `127.0.0.1:${port}`,
      "--duration",
      "2s",
      "--expect-pattern",
      "--json",
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out[0]!) as {
      ok: boolean;
      content: { stream: number; compared: number; mismatched: number; padded: number; ok: boolean }[];
      inputs: { bytes: number; lostBytes: number }[];
    };
    expect(j.ok).toBe(true);
    expect(j.content).toHaveLength(1);
    const v = j.content[0]!;
    console.log(`real: --expect-pattern compared ${v.compared} bytes, padded ${v.padded}`);
    expect([v.stream, v.mismatched, v.ok]).toEqual([0, 0, true]);
    expect(v.compared).toBeGreaterThan(50000);
    expect(v.compared + v.padded).toBe(j.inputs[0]!.bytes + j.inputs[0]!.lostBytes);
    expect(board.linesSince(0).filter((l) => /Uncaught/.test(l))).toEqual([]);
    expect((await readHealth(board, "pattern board: after syfala session")).errorFlags).toEqual([]);
  });
});
