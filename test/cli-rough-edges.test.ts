/**
 * The CLI's rough edges (issue 12): `syfala --version`; a bad argument is one line, also Node's
 * "argument is ambiguous" for a value starting with '-'; default firmware paths resolve from the
 * package, so `syfala emulate` runs from any folder; `list-ports` says in words that udev is
 * missing instead of "spawn udevadm ENOENT". UDP port 47960 belongs to this file.
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { portTable } from "../host/cli/list-ports.js";
import { runCli } from "./support/cli.js";
import { ROOT } from "./support/client-boards.js";
import { startSyfala } from "./support/syfala-process.js";

const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version: string }).version;

describe("syfala CLI edges", () => {
  it("--version prints the package's version", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([`syfala ${VERSION}`]);
  });

  it("a value starting with '-' gets one line naming the option, exit 2", async () => {
    const r = await runCli(["session", "127.0.0.1", "--duration", "-1s"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      "syfala session: --duration needs a value; one starting with '-' is written --duration=-...",
    ]);
    const r2 = await runCli(["session", "127.0.0.1", "--duration=-1s"]);
    expect(r2.code).toBe(2);
    expect(r2.err).toHaveLength(1);
    expect(r2.err[0]).toMatch(/--duration must be a duration .* got '-1s'/);
    const r3 = await runCli(["discover", "--bogus"]);
    expect(r3.code).toBe(2);
    expect(r3.err).toHaveLength(1);
    expect(r3.err[0]).toContain("--bogus");
  });

  it("list-ports says udev is missing in words", () => {
    expect(portTable({ ports: [], listError: "udevadm (udev) is not installed" })).toEqual([
      "no serial ports found (could not list: udevadm (udev) is not installed; scanned /dev/ttyUSB*, /dev/ttyACM*)",
    ]);
  });

  it("list-ports never prints 'spawn udevadm ENOENT'", async () => {
    const r = await runCli(["list-ports"]);
    expect(r.out.join("\n")).not.toMatch(/spawn udevadm/);
    const j = await runCli(["list-ports", "--json"]);
    expect(j.out.join("\n")).not.toMatch(/spawn udevadm/);
  });

  it("syfala emulate runs from another folder: its default firmware comes from the package", async () => {
    const p = startSyfala(["emulate", "--boards", "1", "--port", "47960"], tmpdir());
    const child = p.child;
    const out = (): string => p.out() + p.err();
    try {
      const end = Date.now() + 15000;
      while (!/syfala \S+ on EMULATOR: port 47960/.test(out())) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`no boot line; got: ${out()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      child.kill("SIGINT");
      await p.exited;
    }
    expect(out()).not.toMatch(/not found/);
  }, 30000);
});

describe("the Wi-Fi password off the command line, and a session until Ctrl-C", () => {
  it("--wifi SSID takes its password from SYFALA_WIFI_PASSWORD; SSID: is open; SSID:PASS wins", async () => {
    const { wifiOption } = await import("../host/cli/board-options.js");
    const env = { SYFALA_WIFI_PASSWORD: "from-env" };
    expect(wifiOption("studio", env)).toEqual({ ssid: "studio", password: "from-env" });
    expect(wifiOption("studio:given", env)).toEqual({ ssid: "studio", password: "given" });
    expect(wifiOption("studio:", env)).toEqual({ ssid: "studio", password: "" });
    expect(wifiOption("studio", {})).toEqual({ ssid: "studio", password: "" });
  });

  it("the status line of a session without an end says so", async () => {
    const { statusLine } = await import("../host/client/report.js");
    const s = { seconds: 12.34, inputs: [], rttMs: Number.NaN };
    expect(statusLine(s, Infinity)).toMatch(/^12\.3 s \(until Ctrl-C\)/);
    expect(statusLine(s, 10000)).toMatch(/^12\.3\/10 s/);
  });

  it("session --duration 0 runs until Ctrl-C, then stops IO, disconnects and exits 130", async () => {
    const { firmwareBoards } = await import("./support/client-boards.js");
    const lan = await firmwareBoards(1, 47962, [{ source: "pattern" }], [{ sink: "discard" }]);
    try {
      const p = startSyfala(["session", `${lan.boards[0]?.address}:47962`, "--duration", "0"]);
      const child = p.child;
      // well past the 10 s default would be slow; 2.5 s is past every other timeout in play
      await new Promise((r) => setTimeout(r, 2500));
      expect(child.exitCode).toBeNull();
      child.kill("SIGINT");
      expect(await p.exited).toBe(130);
      expect(p.out()).toMatch(/interrupted: IO stopped, disconnected, recordings finished/);
      expect(p.out()).toMatch(/in 0 .*\n\s+\d+ packets/);
    } finally {
      await lan.stop();
    }
  }, 30000);
});

describe("durations in messages: one style", () => {
  it("milliseconds below a second, seconds from there", async () => {
    const { formatDuration } = await import("../host/duration-text.js");
    expect([300, 999.6, 1000, 1500, 3000, 15000].map(formatDuration)).toEqual([
      "300 ms",
      "1 s",
      "1 s",
      "1.5 s",
      "3 s",
      "15 s",
    ]);
  });
});

describe("the same defaults everywhere", () => {
  it("the playout latency is 20 ms in the CLI and in JitterBuffer; --latency-ms 0 is refused", async () => {
    const { DEFAULT_TARGET_LATENCY_MS, JitterBuffer } = await import("../host/client/jitter.js");
    expect(DEFAULT_TARGET_LATENCY_MS).toBe(20);
    const jb = new JitterBuffer({ sampleRate: 16000, channelCount: 1, sampleType: "I16" });
    expect(jb.targetLatencyMs).toBe(20);
    const help = await runCli(["session", "--help"]);
    expect(help.out.join("\n")).toMatch(/--latency-ms,? default 20/);
    const r = await runCli(["session", "127.0.0.1", "--latency-ms", "0"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual(["syfala session: --latency-ms must be a number from 1 to 10000, got '0'"]);
  });

  it("wire encode defaults to postcard, as the protocol does (decode: auto)", async () => {
    const plain = await runCli(["wire", "encode", "--side", "client", '"Discovery"']);
    const named = await runCli(["wire", "encode", "--side", "client", "--codec", "postcard", '"Discovery"']);
    expect(plain.code).toBe(0);
    expect(plain.out).toEqual(["00"]);
    expect(plain.out).toEqual(named.out);
  });
});
