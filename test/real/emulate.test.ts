/**
 * The real-interpreter tier (ESPRUINO_BIN): `syfala emulate --engine espruino` (the real
 * bin/syfala.mjs) with two boards, each a real Espruino interpreter process running
 * build/firmware/syfala.min.js with the emulated Wi-Fi: both found by `syfala discover` on their
 * own ports, a loopback session with board 2, board 1's memory and error flags read over its
 * console (tcp://127.0.0.1:2323), and Ctrl-C (exit 130, both processes gone). Two interpreters
 * at once: the tier's maximum. UDP ports 46300-46309.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { BoardConsole } from "../../host/board/console.js";
import { openLink } from "../../host/board/link.js";
import { runCli } from "../support/cli.js";
import { BROADCAST, tempDir } from "../support/client-boards.js";
import { until } from "../support/firmware-session.js";
import { describeReal, espruinoBin, FIRMWARE_MIN, firmwareFile } from "../support/real-boards.js";
import { startSyfala } from "../support/syfala-process.js";

const PORT = 46300;
const tmp = tempDir("syfala-real-emulate-");

afterAll(() => tmp.remove());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeReal("syfala emulate --engine espruino", () => {
  it("runs two boards as interpreter processes on their own ports; discover, a session, Ctrl-C", async () => {
    const bin = espruinoBin();
    firmwareFile(FIRMWARE_MIN);
    const config = join(tmp.dir, "boards.json");
    writeFileSync(
      config,
      JSON.stringify({ statusEveryMs: 0, inputs: [{ source: "loopback" }], outputs: [{ sink: "loopback" }] }),
    );
    const proc = startSyfala([
      "emulate",
      "--engine",
      "espruino",
      "--espruino-bin",
      bin,
      "--boards",
      "2",
      "--port",
      String(PORT),
      "--config",
      config,
    ]);
    const { child, exited } = proc;
    let pids: number[] = [];
    try {
      await until(
        () => /board 2: /.test(proc.out()) || child.exitCode !== null,
        20000,
        "both boards started",
      );
      expect(proc.err()).toBe("");
      pids = [...proc.out().matchAll(/\(espruino pid (\d+)\)/g)].map((m) => Number(m[1]));
      expect(proc.out()).toContain(
        `board 1: udp 127.0.0.1:${PORT}, console tcp://127.0.0.1:2323 (espruino pid ${pids[0]})`,
      );
      expect(proc.out()).toContain(
        `board 2: udp 127.0.0.1:${PORT + 1}, no console (espruino pid ${pids[1]})`,
      );
      expect(proc.out()).toContain(`[127.0.0.1:${PORT}] wifi: connecting syfala-emulator`);
      expect(proc.out()).toContain(
        `[127.0.0.1:${PORT + 1}] syfala 0.1.0 on LINUX: port ${PORT + 1}, 1 in, 1 out`,
      );
      await until(
        () => proc.out().includes(`[127.0.0.1:${PORT + 1}] wifi: connected 127.0.0.1`),
        3000,
        "board 2 on Wi-Fi",
      );

      for (const p of [PORT, PORT + 1]) {
        const found = await runCli([
          "discover",
          "--broadcast",
          BROADCAST,
          "--port",
          String(p),
          "--timeout",
          "800ms",
          "--json",
        ]);
        expect(found.code).toBe(0);
        const servers = (JSON.parse(found.out[0]!) as { servers: { address: string; port: number }[] })
          .servers;
        expect(servers.map((s) => `${s.address}:${s.port}`)).toEqual([`127.0.0.1:${p}`]);
      }
      const r = await runCli([
        "session",
        `127.0.0.1:${PORT + 1}`,
        "--duration",
        "1500ms",
        "--check-loopback",
        "--json",
      ]);
      expect(r.err).toEqual([]);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out[0]!) as {
        ok: boolean;
        loopback: { compared: number; mismatched: number }[];
      };
      expect(j.ok).toBe(true);
      expect(j.loopback[0]!.mismatched).toBe(0);
      expect(j.loopback[0]!.compared).toBeGreaterThan(30000);

      const link = await openLink({ kind: "tcp", host: "127.0.0.1", port: 2323 });
      try {
        const con = new BoardConsole(link);
        await con.sync();
        const v = (await con.evaluate("[process.memory().usage,E.getErrorFlags(),process.env.BOARD]")) as [
          number,
          string[],
          string,
        ];
        console.log(
          `real: syfala emulate --engine espruino, board 1: ${v[0]} blocks in use, error flags [${v[1].join(", ")}]`,
        );
        expect(v[2]).toBe("LINUX");
        for (const f of v[1]) expect(f).toBe("LOW_MEMORY");
      } finally {
        await link.close();
      }

      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(proc.out().trim().split("\n").at(-1)).toBe("emulator stopped");
      for (const pid of pids) expect(alive(pid), `espruino pid ${pid} stopped`).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      // Never leave an interpreter spinning behind a failed test.
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  }, 60000);
});
