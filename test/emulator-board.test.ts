/**
 * Emulated boards end to end: several boards with distinct addresses running a small
 * Espruino-style program (test/fixtures/emulator/echo.js), Storage persisted to its file, Wi-Fi
 * drop and restore, power cycles, Espruino's boot order (code, E.on('init'), onInit), reset(),
 * E.on('kill') at stop, process.memory(), and the `syfala emulate` command. Real UDP on
 * 127.0.0.0/8 only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Board, type Lan, type LogEntry, startBoards } from "../host/emulator/index.js";
import { runCli } from "./support/cli.js";

const ECHO = new URL("./fixtures/emulator/echo.js", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const running: Lan[] = [];
const cleanup: (() => void)[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop()));
  for (const f of cleanup.splice(0)) f();
});

async function until(cond: () => boolean, maxMs = 5000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "emulator-board-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Client {
  sock: dgram.Socket;
  got: { text: string; address: string; port: number }[];
  /** Sends `text` and waits for the next datagram from `address`. */
  ask(text: string, address: string, port: number, maxMs?: number): Promise<string>;
}

async function client(): Promise<Client> {
  const sock = dgram.createSocket("udp4");
  cleanup.push(() => sock.close());
  const got: Client["got"] = [];
  sock.on("message", (m, r) => got.push({ text: m.toString("latin1"), address: r.address, port: r.port }));
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
  return {
    sock,
    got,
    async ask(text, address, port, maxMs = 2000) {
      const before = got.filter((g) => g.address === address).length;
      sock.send(text, port, address);
      await until(() => got.filter((g) => g.address === address).length > before, maxMs);
      return got.filter((g) => g.address === address)[before]!.text;
    },
  };
}

const WIFI = { ssid: "lab", password: "secret" };

async function echoBoards(
  count: number,
  port: number,
  storageDir?: string,
  log?: LogEntry[],
): Promise<Board[]> {
  const lan = await startBoards({
    count,
    firmwarePath: ECHO,
    config: { port, wifi: WIFI },
    wifiTiming: { connectDelayMs: 10, retryMs: 20 },
    ...(storageDir === undefined ? {} : { storageDir }),
    ...(log === undefined ? {} : { onLog: (e: LogEntry) => log.push(e) }),
  });
  running.push(lan);
  await until(() => lan.boards.every((b) => b.online));
  return [...lan.boards];
}

function status(text: string): { boots: number; wifi: string; echoed: number; ip: string; board: string } {
  return JSON.parse(text);
}

describe("emulated boards", () => {
  it("several boards answer at distinct addresses, each from its own", async () => {
    const boards = await echoBoards(3, 47101);
    expect(boards.map((b) => b.address)).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    const c = await client();
    for (const b of boards) {
      expect(await c.ask(`hi ${b.index}`, b.address, 47101)).toBe(`hi ${b.index}`);
      expect(status(await c.ask("?", b.address, 47101))).toMatchObject({
        ip: b.address,
        wifi: "connected",
        board: "EMULATOR",
        echoed: 1,
      });
    }
    for (const g of c.got) expect(g.port).toBe(47101);
  });

  it("persists Storage to its file across power cycles", async () => {
    const dir = tmp();
    const [b] = await echoBoards(1, 47102, dir);
    const file = join(dir, `board-${b!.index}.json`);
    const stored = (): Record<string, string> => JSON.parse(readFileSync(file, "utf8"));
    expect(stored().boots).toBe("1");
    expect(JSON.parse(stored()["syfala.json"]!)).toEqual({ port: 47102, wifi: WIFI });
    expect(stored()[".bootcde"]).toBe(readFileSync(ECHO, "utf8"));
    await b!.restart();
    await until(() => b!.online);
    expect(stored().boots).toBe("2");
    const c = await client();
    expect(status(await c.ask("?", b!.address, 47102)).boots).toBe(2);
  });

  it("drops and restores the Wi-Fi link: offline meanwhile, the firmware reconnects", async () => {
    const log: LogEntry[] = [];
    const [b] = await echoBoards(1, 47103, undefined, log);
    const c = await client();
    expect(await c.ask("before", b!.address, 47103)).toBe("before");
    b!.wifi.drop();
    expect(b!.online).toBe(false);
    await until(() => log.some((e) => e.text === "wifi: disconnected BEACON_TIMEOUT"));
    c.sock.send("during", 47103, b!.address);
    await until(() => b!.stats().datagrams.droppedOffline >= 1);
    b!.wifi.restore();
    await until(() => b!.online);
    expect(await c.ask("after", b!.address, 47103)).toBe("after");
    expect(c.got.map((g) => g.text)).not.toContain("during");
    expect(log.filter((e) => e.text.startsWith("wifi: connected"))).toHaveLength(2);
  });

  it("reports only 'Bad password'; an unknown SSID retries silently then gives up", async () => {
    const log: LogEntry[] = [];
    const lan = await startBoards({
      count: 2,
      firmware: readFileSync(ECHO, "utf8"),
      accessPoint: WIFI,
      files: {},
      config: { port: 47104, wifi: { ssid: "lab", password: "wrong" } },
      wifiTiming: { connectDelayMs: 5, retryMs: 5, retries: 3 },
      onLog: (e) => log.push(e),
    });
    running.push(lan);
    await until(() => log.some((e) => e.text === "wifi: Bad password"));
    expect(lan.boards.every((b) => !b.online)).toBe(true);
    const [b2] = [lan.boards[1]!];
    b2.evaluate('require("Wifi").connect("elsewhere", { password: "" }, function (e) { print("cb " + e); })');
    await until(() => log.some((e) => e.board === b2.index && e.text === "wifi: disconnected NO_AP_FOUND"));
    expect(log.filter((e) => e.board === b2.index && e.text.startsWith("cb "))).toEqual([]);
  });

  it("restart() is a power cycle: fresh context, boot again from the same file and Storage", async () => {
    const [b] = await echoBoards(1, 47105);
    const c = await client();
    await c.ask("one", b!.address, 47105);
    expect(status(await c.ask("?", b!.address, 47105)).echoed).toBe(1);
    b!.evaluate("var leftover = 42");
    await b!.restart();
    expect(b!.evaluate("typeof leftover")).toBe('"undefined"');
    await until(() => b!.online);
    expect(status(await c.ask("?", b!.address, 47105))).toMatchObject({ echoed: 0, boots: 2 });
    expect(b!.stats().boots).toBe(2);
  });

  it("boots in Espruino's order: the code, E.on('init') handlers, then onInit()", async () => {
    const log: LogEntry[] = [];
    const lan = await startBoards({
      profile: "linux",
      firmware: `print("code"); E.on("init", function () { print("init"); }); function onInit() { print("onInit"); }`,
      onLog: (e) => log.push(e),
    });
    running.push(lan);
    expect(log.map((e) => e.text)).toEqual(["code", "init", "Running onInit()...", "onInit"]);
  });

  it("reset() clears the program; the firmware in .bootcde runs again only at power-on", async () => {
    const [b] = await echoBoards(1, 47106);
    b!.evaluate("var x = 1");
    b!.evaluate("reset()");
    expect(b!.evaluate("typeof x")).toBe('"undefined"');
    expect(b!.evaluate("typeof state")).toBe('"undefined"');
    await b!.restart();
    expect(b!.evaluate("typeof state")).toBe('"object"');
  });

  it("stop() runs the firmware's E.on('kill') handler before closing the sockets", async () => {
    const boards = await echoBoards(2, 47107);
    const c = await client();
    for (const b of boards) await c.ask("hello", b.address, 47107);
    await running.pop()!.stop();
    await until(() => c.got.filter((g) => g.text === "bye").length === 2);
    expect(
      c.got
        .filter((g) => g.text === "bye")
        .map((g) => g.address)
        .sort(),
    ).toEqual(boards.map((b) => b.address));
  });

  it("process.memory() estimates blocks: a running program uses some, allocations add", async () => {
    const [b] = await echoBoards(1, 47108);
    const m = b!.memory();
    expect(m.total).toBe(3000);
    expect(m.usage).toBeGreaterThan(50);
    expect(m.usage).toBeLessThan(1500);
    b!.evaluate("var keep = []; for (var i = 0; i < 50; i++) keep.push({ n: i, s: 'some text ' + i })");
    expect(b!.memory().usage - m.usage).toBeGreaterThan(150);
  });
});

describe("syfala emulate", () => {
  it("prints its help and rejects bad arguments", async () => {
    const help = await runCli(["emulate", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out.join("\n")).toMatch(/syfala emulate \[--boards N\]/);
    expect((await runCli(["emulate", "--boards", "0"])).code).toBe(2);
    expect((await runCli(["emulate", "--firmware", "/nonexistent/firmware.js"])).code).toBe(2);
    expect((await runCli(["emulate", "--profile", "nrf52", "--firmware", ECHO])).code).toBe(2);
  });

  it("runs boards, logs their console as JSON, and on Ctrl-C runs their kill handlers and exits 130", async () => {
    const dir = tmp();
    const configFile = join(dir, "syfala.json");
    writeFileSync(configFile, JSON.stringify({ wifi: WIFI }));
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "bin/syfala.mjs",
        "emulate",
        "--boards",
        "2",
        "--firmware",
        ECHO,
        "--config",
        configFile,
        "--port",
        "47120",
        "--console-port",
        "47130",
        "--storage-dir",
        dir,
        "--json-log",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    cleanup.push(() => child.kill("SIGKILL"));
    const lines: Record<string, unknown>[] = [];
    let buffer = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      for (const p of parts) if (p.trim() !== "") lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await until(
      () => lines.filter((l) => l.text === "wifi: connected " + String(l.address)).length === 2,
      20000,
    );
    expect(lines.filter((l) => l.event === "board")).toEqual([
      { event: "board", board: 1, address: "127.0.0.2", port: 47120, consolePort: 47130 },
      { event: "board", board: 2, address: "127.0.0.3", port: 47120, consolePort: 47131 },
    ]);
    expect(lines.some((l) => l.kind === "console" && l.text === "echo: boot 1 on port 47120")).toBe(true);
    const c = await client();
    expect(await c.ask("ping", "127.0.0.2", 47120)).toBe("ping");
    expect(await c.ask("ping", "127.0.0.3", 47120)).toBe("ping");
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    await until(() => c.got.filter((g) => g.text === "bye").length === 2);
    expect(lines.at(-1)).toEqual({ event: "stopped" });
  }, 30000);

  it("without --config, the boards join the emulated access point and can be reached", async () => {
    const dir = tmp();
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "bin/syfala.mjs",
        "emulate",
        "--firmware",
        ECHO,
        "--port",
        "47122",
        "--console-port",
        "47132",
        "--storage-dir",
        dir,
        "--json-log",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    cleanup.push(() => child.kill("SIGKILL"));
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await until(() => out.includes('"text":"wifi: connected 127.0.0.2"'), 20000);
    const stored = JSON.parse(readFileSync(join(dir, "board-1.json"), "utf8")) as Record<string, string>;
    expect(JSON.parse(stored["syfala.json"]!)).toEqual({
      wifi: { ssid: "syfala-emulator", password: "" },
      port: 47122,
    });
    const c = await client();
    expect(await c.ask("ping", "127.0.0.2", 47122)).toBe("ping");
    child.kill("SIGINT");
  }, 30000);
});
