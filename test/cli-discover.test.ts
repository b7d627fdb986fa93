/**
 * `syfala discover` against three emulated boards running the real firmware, broadcast on
 * 127.255.255.255 (never 255.255.255.255 in tests). UDP ports 48100-48119 belong to this file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lan } from "../host/emulator/index.js";
import { runCli } from "./support/cli.js";
import { BROADCAST, firmwareBoards } from "./support/client-boards.js";

const PORT = 48100;
const EMPTY_PORT = 48101;
let lan: Lan;

beforeAll(async () => {
  lan = await firmwareBoards(
    3,
    PORT,
    [
      { source: "pattern" },
      { source: "tone", sampleType: "IEEF32", sampleRate: 48000, channelCount: 2, bufferSize: 64 },
    ],
    [{ sink: "discard" }],
  );
}, 30000);

afterAll(async () => {
  await lan?.stop();
});

describe("syfala discover", () => {
  it("lists every board with its streams in words", async () => {
    const r = await runCli(["discover", "--broadcast", BROADCAST, "--port", String(PORT), "--timeout", "1s"]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const text = r.out.join("\n");
    for (const a of ["127.0.0.2", "127.0.0.3", "127.0.0.4"]) expect(text).toContain(`${a}:${PORT}`);
    expect(r.out[0]).toMatch(/^SERVER\s+STREAMS$/);
    // board 127.0.0.2: its three streams, one line each
    const i = r.out.findIndex((l) => l.startsWith(`127.0.0.2:${PORT}`));
    expect(r.out.slice(i, i + 3).map((l) => l.trim())).toEqual([
      `127.0.0.2:${PORT}  in 0: I16 16000 Hz x1, 256-frame packets`,
      "in 1: IEEF32 48000 Hz x2, 64-frame packets",
      "out 0: I16 16000 Hz x1, 256-frame packets",
    ]);
    expect(r.out.at(-1)).toBe("3 servers");
  });

  it("--json gives every server with its formats", async () => {
    const r = await runCli([
      "discover",
      "--broadcast",
      BROADCAST,
      "--port",
      String(PORT),
      "--timeout",
      "800ms",
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    const j = JSON.parse(r.out[0]!) as {
      servers: { address: string; port: number; codec: string; formats: unknown }[];
    };
    expect(j.servers.map((s) => `${s.address}:${s.port}`)).toEqual([
      `127.0.0.2:${PORT}`,
      `127.0.0.3:${PORT}`,
      `127.0.0.4:${PORT}`,
    ]);
    for (const s of j.servers) {
      expect(s.codec).toBe("postcard");
      expect(s.formats).toEqual({
        inputs: [
          { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" },
          { sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "IEEF32" },
        ],
        outputs: [{ sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" }],
      });
    }
  });

  it("unicast to one board lists only that board", async () => {
    const r = await runCli([
      "discover",
      "--broadcast",
      "127.0.0.3",
      "--port",
      String(PORT),
      "--timeout",
      "0.5",
    ]);
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => /^127\./.test(l))).toEqual([
      `127.0.0.3:${PORT}  in 0: I16 16000 Hz x1, 256-frame packets`,
    ]);
  });

  it("exits 1 with one line when nobody answers", async () => {
    const r = await runCli([
      "discover",
      "--broadcast",
      BROADCAST,
      "--port",
      String(EMPTY_PORT),
      "--timeout",
      "300ms",
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `syfala discover: no server answered on ${BROADCAST}:${EMPTY_PORT} within 300 ms`,
    ]);
  });

  it.each([
    [["--port", "abc"], "--port"],
    [["--port", "70000"], "--port"],
    [["--timeout", "soon"], "--timeout"],
    [["--timeout", "-1s"], "--timeout"],
    [["--broadcast", "everyone"], "--broadcast"],
    [["--colour"], "--colour"],
    [["extra"], "extra"],
  ])("bad arguments %j: exit 2, one line naming %s", async (args, named) => {
    const r = await runCli(["discover", ...args]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toContain(named);
    expect(r.err[0]).toMatch(/^syfala discover: /);
  });

  it("--help describes the options", async () => {
    const r = await runCli(["discover", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out.join("\n")).toContain("--broadcast ADDR");
  });
});
