/**
 * `syfala flash`, `configure`, `monitor` and `list-ports` without hardware: against emulated
 * boards' TCP consoles, and through a pseudo-terminal (a socat pty bridged to an emulated board's
 * console) so that the serial path through `serialport` runs end to end. A flash starts from a
 * board with no program at all; whether the firmware then runs is checked from outside, by this
 * test's own Discovery on the board's address. The flash over the pty runs the real `syfala`
 * binary inside a network namespace of its own when the machine allows it (unshare -n): the
 * upload tools there provably reach nothing but the pty.
 *
 * Ports of this file: TCP consoles 47500-47599, UDP 47600-47699.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { formatFormatsSpec, parseFormatsSpec } from "../host/board/formats-spec.js";
import { describePort, scanDevices } from "../host/board/serial-ports.js";
import type { Terminal } from "../host/cli/board-options.js";
import { configureCommand } from "../host/cli/configure.js";
import { makeFlashCommand } from "../host/cli/flash.js";
import { makeMonitorCommand } from "../host/cli/monitor.js";
import { type Io, UsageError } from "../host/cli/usage.js";
import { type Lan, type LogEntry, startBoards } from "../host/emulator/index.js";
import type { StreamFormats } from "../shared/format.js";
import { Client } from "../shared/message.js";
import { encodeToBytes } from "../shared/wire/codec.js";
import { postcard } from "../shared/wire/postcard.js";
import { type CliRun, runCli } from "./support/cli.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIRMWARE_MIN = join(ROOT, "build/firmware/syfala.min.js");
const FIRMWARE = join(ROOT, "build/firmware/syfala.js");
const BIN = join(ROOT, "bin/syfala.mjs");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const AP = { ssid: "studio", password: "secret-pass" };
const TMP = mkdtempSync(join(tmpdir(), "syfala-cli-board-"));

const lans: Lan[] = [];
const logs: LogEntry[] = [];

afterEach(async () => {
  await Promise.all(lans.splice(0).map((l) => l.stop()));
});

/** One board on console port `consolePort`: empty (no program, no syfala.json) unless options say. */
async function board(consolePort: number, options: { firmware?: boolean; udpPort?: number } = {}) {
  const lan = await startBoards({
    count: 1,
    consolePort,
    accessPoint: AP,
    ...(options.firmware ? { firmwarePath: FIRMWARE, config: { wifi: AP, statusEveryMs: 0 } } : {}),
    ...(options.udpPort === undefined ? {} : { port: options.udpPort }),
    onLog: (e) => logs.push(e),
  });
  lans.push(lan);
  return lan.boards[0]!;
}

/** A terminal of PassThrough streams; `tty` makes stdin and stderr claim to be terminals. */
function fakeTerminal(tty = false) {
  const rawModes: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: tty,
    setRawMode: (on: boolean) => {
      rawModes.push(on);
    },
  });
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => {
    out += d.toString("latin1");
  });
  stderr.on("data", (d: Buffer) => {
    err += d.toString("latin1");
  });
  const term: Terminal = { stdin, stdout, stderr };
  return { term, stdin, rawModes, out: () => out, err: () => err };
}

/** Runs a command made for `term` with captured io; a UsageError is exit 2, as main() does. */
async function run(command: (args: string[], io: Io) => Promise<number>, args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    stdinLines: async function* () {},
  };
  try {
    return { code: await command(args, io), out, err };
  } catch (e) {
    if (e instanceof UsageError) return { code: 2, out, err: [...err, e.message] };
    throw e;
  }
}

/** This test's own Discovery: the formats `address:port` offers, or undefined after `tries` tries 150 ms apart. */
async function discover(address: string, port: number, tries = 40): Promise<StreamFormats | undefined> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
  const beacon = encodeToBytes(postcard.client, Client.DISCOVERY);
  try {
    for (let attempt = 0; attempt < tries; attempt++) {
      const reply = await new Promise<StreamFormats | undefined>((resolve) => {
        const timer = setTimeout(() => {
          sock.removeAllListeners("message");
          resolve(undefined);
        }, 150);
        sock.on("message", (m, rinfo) => {
          if (rinfo.address !== address || rinfo.port !== port) return;
          const r = postcard.server.decode(new Uint8Array(m), 0);
          if (r.ok && r.message.type === "connect") {
            clearTimeout(timer);
            sock.removeAllListeners("message");
            resolve(r.message.formats);
          }
        });
        sock.send(beacon, port, address);
      });
      if (reply !== undefined) return reply;
    }
    return undefined;
  } finally {
    sock.close();
  }
}

function configFile(name: string, config: unknown): string {
  const path = join(TMP, name);
  writeFileSync(path, typeof config === "string" ? config : JSON.stringify(config));
  return path;
}

const mono16k = { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" };

beforeAll(() => {
  if (!existsSync(FIRMWARE_MIN) || !existsSync(FIRMWARE)) {
    throw new Error("build/firmware/ is missing: run 'make firmware' first");
  }
});

describe("bad arguments: one line, exit 2", () => {
  const badJson = configFile("bad.json", "{ port: 1 ");
  const badPort = configFile("bad-port.json", { port: 70000, prot: 1 });
  const good = configFile("good.json", { port: 47690 });
  it.each([
    [["flash"], /^syfala flash: --port is required/],
    [["flash", "--port", "ftp://x"], /--port 'ftp:\/\/x': only serial devices and tcp:\/\/ are supported/],
    [
      ["flash", "--port", "tcp://127.0.0.1:99999"],
      /--port 'tcp:\/\/127\.0\.0\.1:99999': port must be 1\.\.65535/,
    ],
    [["flash", "--port", "tcp://"], /is not tcp:\/\/HOST\[:PORT\]/],
    [["flash", "--port", "/dev/null", "--firmware", "nope.js"], /firmware file not found: nope\.js/],
    [["flash", "--port", "/dev/null", "--config", badJson], /--config .*bad\.json: not JSON/],
    [
      ["flash", "--port", "/dev/null", "--config", join(TMP, "none.json")],
      /--config .*none\.json: no such file/,
    ],
    [
      ["flash", "--port", "/dev/null", "--config", badPort],
      /would not be used as written: prot: unknown, ignored; port: bad, using 6910/,
    ],
    [
      ["flash", "--port", "/dev/null", "--config", good, "--wifi", ":pw"],
      /--wifi: the network name \(SSID\) is empty/,
    ],
    [["flash", "--port", "/dev/null", "--wifi", "x".repeat(33)], /longer than 32 bytes/],
    [["flash", "--port", "/dev/null", "--baud", "12"], /--baud must be an integer in 300\.\.4000000/],
    [["flash", "--port", "/dev/null", "extra"], /unexpected argument 'extra'/],
    [["configure", "--port", "/dev/null"], /nothing to do/],
    [
      ["configure", "--port", "/dev/null", "--formats", "in=I17@16000"],
      /--formats 'in=I17@16000': unknown sample type 'I17'/,
    ],
    [
      ["configure", "--port", "/dev/null", "--formats", "in=I16@16000x1/256:tone,up=I16@8000"],
      /--formats 'up=I16@8000': a stream starts with in= or out=/,
    ],
    [
      ["configure", "--port", "/dev/null", "--formats", "out=I16@16000x32"],
      /'out=I16@16000x32': the channel count must be an integer in 1\.\.16/,
    ],
    [
      ["configure", "--port", "/dev/null", "--formats", "out=I16@16k:loud"],
      /'out=I16@16k:loud': unknown output sink 'loud'/,
    ],
    [["configure", "--port", "/dev/null", "--formats", "in=I16"], /'in=I16': expected TYPE@RATE/],
    [
      ["configure", "--port", "/dev/null", "--formats", "in=I16@16k:tone@5*2"],
      /'in=I16@16k:tone@5\*2': the amplitude must be/,
    ],
    [
      ["configure", "--port", "/dev/null", "--formats", "in=none,in=I16@16k"],
      /'in=I16@16k': in=none with other in= streams/,
    ],
    [["configure", "--port", "/dev/null", "--formats", "in=I16@16k,,out=none"], /empty stream/],
    [["configure", "--port", "/dev/null", "--config", badPort], /--config .*would not be used as written/],
    [["monitor", "--port", "/dev/null", "--linger", "soon"], /--linger must be an integer/],
    [["monitor"], /--port is required/],
    [["list-ports", "extra"], /unexpected argument 'extra'/],
    [["list-ports", "--bogus"], /Unknown option '--bogus'/],
  ])("%j", async (argv, pattern) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(pattern);
    expect(r.out).toEqual([]);
  });

  it("every board command has --help (exit 0)", async () => {
    for (const c of ["flash", "configure", "monitor", "list-ports"]) {
      const r = await runCli([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.out.join("\n"), c).toMatch(new RegExp(`^usage: syfala ${c}`));
    }
    const conf = await runCli(["configure", "--help"]);
    expect(conf.out.join("\n")).toContain("in=TYPE@RATE[xCHANNELS][/BUFFER]");
  });
});

describe("--formats SPEC", () => {
  it("turns a spec into syfala.json streams, defaults filled in", () => {
    expect(parseFormatsSpec("in=I16@16k/256:tone@880*0.25, in=u8@8000x2/0:pattern ,out=F32@44.1k")).toEqual({
      inputs: [
        { ...mono16k, source: "tone", toneHz: 880, amplitude: 0.25 },
        { sampleRate: 8000, channelCount: 2, bufferSize: 0, sampleType: "U8", source: "pattern" },
      ],
      outputs: [
        { sampleRate: 44100, channelCount: 1, bufferSize: 256, sampleType: "IEEF32", sink: "discard" },
      ],
    });
    expect(parseFormatsSpec("out=none")).toEqual({ outputs: [] });
    expect(parseFormatsSpec("in=I24@48000x2/64:loopback,out=I24@48000x2/64:loopback")).toEqual({
      inputs: [{ sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I24", source: "loopback" }],
      outputs: [{ sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "I24", sink: "loopback" }],
    });
  });

  it("at most 8 streams a direction", () => {
    expect(() => parseFormatsSpec(Array(9).fill("in=I16@16k").join(","))).toThrow(/at most 8 in= streams/);
  });

  it("prints a configuration's streams in the same syntax, which parses back to them", () => {
    const types = [
      "U8",
      "U16",
      "U24",
      "U32",
      "U64",
      "I8",
      "I16",
      "I24",
      "I32",
      "I64",
      "IEEF32",
      "IEEF64",
    ] as const;
    const fmt = fc.record({
      sampleType: fc.constantFrom(...types),
      sampleRate: fc.integer({ min: 1, max: 1000000 }),
      channelCount: fc.integer({ min: 1, max: 16 }),
      bufferSize: fc.integer({ min: 0, max: 4294967295 }),
    });
    const input = fc.oneof(
      fmt.map((f) => ({ ...f, source: "pattern" as const })),
      fc
        .tuple(fmt, fc.integer({ min: 1, max: 1000000 }), fc.integer({ min: 0, max: 100 }))
        .map(([f, hz, a]) => ({ ...f, source: "tone" as const, toneHz: hz, amplitude: a / 100 })),
    );
    const output = fc
      .tuple(fmt, fc.constantFrom("discard" as const, "loopback" as const))
      .map(([f, sink]) => ({ ...f, sink }));
    fc.assert(
      fc.property(
        fc.array(input, { maxLength: 8 }),
        fc.array(output, { maxLength: 8 }),
        (inputs, outputs) => {
          expect(parseFormatsSpec(formatFormatsSpec({ inputs, outputs }))).toEqual({ inputs, outputs });
        },
      ),
    );
  });
});

describe("syfala list-ports", () => {
  it("marks the USB ids of ESP32 boards' bridges and chips", () => {
    const hint = (vendorId: string, productId: string) =>
      describePort({ path: "/dev/x", vendorId, productId });
    expect(hint("10c4", "ea60")).toMatchObject({ likelyEsp32: true, hint: expect.stringMatching(/CP210x/) });
    expect(hint("0x1A86", "0x7523")).toMatchObject({
      vendorId: "1a86",
      productId: "7523",
      likelyEsp32: true,
    });
    expect(hint("0403", "6001").hint).toMatch(/FTDI/);
    expect(hint("303a", "1001")).toMatchObject({
      likelyEsp32: true,
      hint: expect.stringMatching(/ESP32-S2\/S3/),
    });
    expect(hint("2341", "0043")).toMatchObject({ likelyEsp32: false, hint: undefined });
    expect(describePort({ path: "/dev/ttyS0" })).toMatchObject({ vendorId: undefined, likelyEsp32: false });
  });

  it("finds /dev/ttyUSB* and /dev/ttyACM* and their USB ids in sysfs when udev cannot list", () => {
    const root = mkdtempSync(join(TMP, "scan-"));
    const dev = join(root, "dev");
    mkdirSync(dev);
    for (const n of ["ttyUSB0", "ttyACM1", "ttyUSB10", "ttyS0", "null"]) writeFileSync(join(dev, n), "");
    const usb = (name: string, files: Record<string, string>) => {
      const device = join(root, "sys/devices/usb1", name);
      const iface = join(device, `${name}:1.0`);
      mkdirSync(iface, { recursive: true });
      for (const [f, v] of Object.entries(files)) writeFileSync(join(device, f), `${v}\n`);
      mkdirSync(join(root, "sys/class/tty", name), { recursive: true });
      symlinkSync(iface, join(root, "sys/class/tty", name, "device"));
    };
    usb("ttyUSB0", { idVendor: "10c4", idProduct: "ea60", manufacturer: "Silicon Labs", serial: "0001" });
    usb("ttyACM1", { idVendor: "303a", idProduct: "1001", product: "USB JTAG/serial debug unit" });
    const ports = scanDevices({ dev, sys: join(root, "sys") });
    expect(
      ports.map((p) => [
        p.path.slice(dev.length + 1),
        p.vendorId,
        p.productId,
        p.manufacturer,
        p.likelyEsp32,
      ]),
    ).toEqual([
      ["ttyACM1", "303a", "1001", "USB JTAG/serial debug unit", true],
      ["ttyUSB0", "10c4", "ea60", "Silicon Labs", true],
      ["ttyUSB10", undefined, undefined, undefined, false],
    ]);
  });

  it("exits 0 and says why when there is nothing to list (no udevadm here)", async () => {
    const r = await runCli(["list-ports"]);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    if (r.out[0]?.startsWith("no serial ports found")) expect(r.out).toHaveLength(1);
    else expect(r.out[0]).toMatch(/^PORT\s+USB ID\s+DESCRIPTION\s+HINT$/);
    const j = await runCli(["list-ports", "--json"]);
    const parsed = JSON.parse(j.out[0]!) as { ports: unknown[]; listError: string | null };
    expect(Array.isArray(parsed.ports)).toBe(true);
  });
});

describe("over an emulated board's TCP console", () => {
  it("flash --ram puts the firmware into an empty board (RAM) with its configuration; it then answers Discovery", async () => {
    const b = await board(47501);
    expect(b.storage.read(".bootcde")).toBeUndefined();
    expect(await discover(b.address, 47601, 5)).toBeUndefined();
    const config = configFile("flash-ram.json", {
      port: 47601,
      outputs: [{ ...mono16k, sink: "discard" }],
      statusEveryMs: 0,
    });
    const t = fakeTerminal();
    const r = await run(makeFlashCommand(t.term), [
      "--port",
      "tcp://127.0.0.1:47501",
      "--config",
      config,
      "--wifi",
      `${AP.ssid}:${AP.password}`,
      "--ram",
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe("connecting to tcp://127.0.0.1:47501");
    expect(r.out).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^verified: syfala ${VERSION} on EMULATOR: port 47601, 1 in, 1 out; \\d+/3000 blocks free$`,
        ),
      ),
    );
    expect(r.out.find((l) => l.startsWith("upload: sending "))).toMatch(/^upload: sending \d+ bytes\.\.\.$/);
    expect(r.out).toContain(
      `discovery: 127.0.0.2:47601 answers: in I16 16000 Hz x1 ch, 256-frame buffers | out I16 16000 Hz x1 ch, 256-frame buffers`,
    );
    expect(r.out.some((l) => l.startsWith("note: the firmware runs from RAM"))).toBe(true);
    expect(t.err()).toBe("");
    // The board's Storage: the configuration as given, with --wifi merged in; no saved program.
    expect(JSON.parse(b.storage.read("syfala.json")!)).toEqual({
      port: 47601,
      outputs: [{ ...mono16k, sink: "discard" }],
      statusEveryMs: 0,
      wifi: AP,
    });
    expect(b.storage.read(".bootcde")).toBeUndefined();
    // Seen from outside: the board serves on its address.
    expect(await discover(b.address, 47601)).toEqual({ inputs: [mono16k], outputs: [mono16k] });

    // configure changes the streams; --restart applies them without losing the RAM firmware.
    const c = await runCli([
      "configure",
      "--port",
      "tcp://127.0.0.1:47501",
      "--formats",
      "in=I16@16k/256:pattern,in=U8@8000x2/128:silence,out=IEEF32@48kx2/64",
      "--restart",
    ]);
    expect(c.err).toEqual([]);
    expect(c.code).toBe(0);
    expect(c.out[0]).toBe(
      "syfala.json on tcp://127.0.0.1:47501: wifi 'studio' (password set), port 47601, " +
        "in=I16@16000x1/256:pattern,in=U8@8000x2/128:silence,out=IEEF32@48000x2/64:discard",
    );
    expect(c.out[2]).toBe(
      `restarted (stop and start handlers): syfala ${VERSION} on EMULATOR: port 47601, 2 in, 1 out`,
    );
    const stored = JSON.parse(b.storage.read("syfala.json")!) as Record<string, unknown>;
    expect(stored["inputs"]).toEqual([
      { ...mono16k, source: "pattern" },
      { sampleRate: 8000, channelCount: 2, bufferSize: 128, sampleType: "U8", source: "silence" },
    ]);
    expect(stored["wifi"]).toEqual(AP);
    expect(await discover(b.address, 47601)).toEqual({
      inputs: [mono16k, { sampleRate: 8000, channelCount: 2, bufferSize: 128, sampleType: "U8" }],
      outputs: [{ sampleRate: 48000, channelCount: 2, bufferSize: 64, sampleType: "IEEF32" }],
    });
  }, 60000);

  it("flash --save stores the firmware in flash: it runs again after a power cycle; --json reports", async () => {
    const b = await board(47502);
    const t = fakeTerminal();
    const r = await run(makeFlashCommand(t.term), [
      "--port",
      "tcp://127.0.0.1:47502",
      "--wifi",
      AP.ssid + ":" + AP.password,
      "--save",
      "--json",
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    const j = JSON.parse(r.out[0]!) as Record<string, unknown>;
    expect(j).toMatchObject({
      ok: true,
      port: "tcp://127.0.0.1:47502",
      board: "EMULATOR",
      espruino: "2v29",
      firmware: VERSION,
      saved: true,
      config: { wifi: { ssid: AP.ssid, password: "********" } },
      udpPort: 6910,
      inputs: 1,
      outputs: 1,
      discovery: { address: b.address, port: 6910 },
    });
    expect(b.storage.read(".bootcde")).toBe(readFileSync(FIRMWARE_MIN, "latin1"));
    // The UDP port was not configured: 6910 is shared with other suites, so it is not probed here;
    // move it to this file's range and power-cycle: the saved firmware boots with it.
    const c = await runCli([
      "configure",
      "--port",
      "tcp://127.0.0.1:47502",
      "--config",
      configFile("p.json", { port: 47602 }),
    ]);
    expect(c.code).toBe(0);
    expect(c.out[1]).toMatch(/^written \(\d+ bytes\); the firmware reads it when it starts/);
    await b.restart();
    expect(await discover(b.address, 47602)).toEqual({ inputs: [mono16k], outputs: [mono16k] });
  }, 60000);

  it("draws a progress bar on a terminal", async () => {
    await board(47503);
    const t = fakeTerminal(true);
    const r = await run(makeFlashCommand(t.term), ["--port", "tcp://127.0.0.1:47503"]);
    expect(r.code).toBe(0);
    expect(r.out.some((l) => l.startsWith("upload: sending"))).toBe(false);
    expect(t.err()).toMatch(/^\rupload \[\.{30}\]\s+0% /);
    expect(t.err().endsWith("\r\x1b[K")).toBe(true);
    expect(t.err()).toMatch(/\rupload \[#{30}\] 100% (\d+\.\d)\/\1 kB\r/);
    expect(r.out).toContain("config: kept the board's syfala.json");
    expect(r.out).toContain("discovery: not checked (no Wi-Fi network configured: use --wifi)");
  }, 60000);

  it("configure on a board running the saved firmware: load() applies it; a bad change is refused, nothing written", async () => {
    const b = await board(47504, { firmware: true, udpPort: 47604 });
    expect(await discover(b.address, 47604)).toEqual({ inputs: [mono16k], outputs: [mono16k] });
    const before = b.storage.read("syfala.json");
    const bad = await runCli([
      "configure",
      "--port",
      "tcp://127.0.0.1:47504",
      "--formats",
      "in=I16@16k:loopback",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual([
      "syfala configure: the new syfala.json would not be used as written: loopback 0: no like pair, using tone/discard; nothing written",
    ]);
    expect(b.storage.read("syfala.json")).toBe(before);

    const r = await runCli([
      "configure",
      "--port",
      "tcp://127.0.0.1:47504",
      "--formats",
      "in=I16@16k:loopback,out=I16@16k:loopback",
      "--restart",
      "--json",
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out[0]!)).toMatchObject({
      written: true,
      formats: "in=I16@16000x1/256:loopback,out=I16@16000x1/256:loopback",
      restarted: `syfala ${VERSION} on EMULATOR: port 47604, 1 in, 1 out`,
      config: { wifi: { ssid: AP.ssid, password: "********" } },
    });
    expect(logs.some((l) => l.board === b.index && /syfala .* port 47604, 1 in, 1 out/.test(l.text))).toBe(
      true,
    );
    expect(await discover(b.address, 47604)).toEqual({ inputs: [mono16k], outputs: [mono16k] });
    const show = await runCli(["configure", "--port", "tcp://127.0.0.1:47504", "--show"]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.out.slice(1).join("\n"))).toMatchObject({
      wifi: { ssid: AP.ssid, password: "********" },
      inputs: [{ source: "loopback" }],
      outputs: [{ sink: "loopback" }],
    });
  }, 60000);

  it("monitor pipes standard input to the board and the board to standard output, until the end of input", async () => {
    await board(47505);
    const t = fakeTerminal();
    const done = run(makeMonitorCommand(t.term), ["--port", "tcp://127.0.0.1:47505"]);
    t.stdin.write("1+2\n");
    t.stdin.end("process.env.BOARD\n");
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(t.out()).toContain("1+2\r\n=3\r\n");
    expect(t.out()).toContain('="EMULATOR"\r\n');
  }, 30000);

  it("monitor in raw mode on a terminal, left with Ctrl-]", async () => {
    await board(47506);
    const t = fakeTerminal(true);
    const done = run(makeMonitorCommand(t.term), ["--port", "tcp://127.0.0.1:47506"]);
    t.stdin.write("40+2\r");
    for (let i = 0; i < 200 && !t.out().includes("=42"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.out()).toContain("=42");
    t.stdin.write("\x1d");
    const r = await done;
    expect(r.code).toBe(0);
    expect(t.rawModes).toEqual([true, false]);
    expect(r.err[0]).toBe("connected to tcp://127.0.0.1:47506; Ctrl-] to leave");
  }, 30000);

  it("monitor exits 1 with one line when the board goes away", async () => {
    const lan = await startBoards({ count: 1, consolePort: 47507 });
    const t = fakeTerminal();
    const done = run(makeMonitorCommand(t.term), ["--port", "tcp://127.0.0.1:47507"]);
    for (let i = 0; i < 200 && !t.out().includes(">"); i++) await new Promise((r) => setTimeout(r, 10));
    await lan.stop();
    const r = await done;
    expect(r.code).toBe(1);
    expect(r.err).toEqual(["syfala monitor: tcp://127.0.0.1:47507: connection closed by the board"]);
  }, 30000);

  it("unreachable or silent consoles: one line, exit 1", async () => {
    for (const c of ["flash", "configure --show", "monitor"]) {
      const r = await runCli([...c.split(" "), "--port", "tcp://127.0.0.1:47599"]);
      expect(r.code, c).toBe(1);
      expect(r.err, c).toEqual([
        `syfala ${c.split(" ")[0]}: cannot connect to tcp://127.0.0.1:47599: connection refused`,
      ]);
    }
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(47598, "127.0.0.1", () => resolve()));
    try {
      const r = await runCli(["flash", "--port", "tcp://127.0.0.1:47598"]);
      expect(r.code).toBe(1);
      expect(r.err).toEqual(["syfala flash: no answer from the board on tcp://127.0.0.1:47598 within 4 s"]);
    } finally {
      silent.close();
    }
  }, 30000);
});

/**
 * socat, or undefined (the reason printed; the tests that need it are then skipped, which
 * REQUIRE_ALL=1 turns into a failure). Installing it is `make setup`'s job, not a test's.
 */
function socat(): string | undefined {
  const which = spawnSync("sh", ["-c", "command -v socat"], { encoding: "utf8" });
  if (which.status === 0) return which.stdout.trim();
  console.log("skipped: socat is missing (make setup installs it): the serial-path tests");
  return undefined;
}

/** How to run a command in a network namespace of its own (only lo, up), if the machine allows it. */
function inNamespace(): string[] | undefined {
  const ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].find((p) => existsSync(p));
  if (ip === undefined) return undefined;
  const r = spawnSync("unshare", ["-n", "sh", "-c", `${ip} link set lo up && ${ip} -o addr show lo`], {
    encoding: "utf8",
    timeout: 10000,
  });
  if (r.status !== 0 || !r.stdout.includes("127.0.0.1")) return undefined;
  return ["unshare", "-n", "sh", "-c", `${ip} link set lo up && exec "$0" "$@"`];
}

/** Runs the syfala binary (optionally through `prefix`), collecting its output. */
function syfala(
  prefix: string[],
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...rest] = [...prefix, process.execPath, BIN, ...args];
  const child = spawn(cmd!, rest, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 90000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("over a pseudo-terminal (socat pty bridged to an emulated board): the serial path", () => {
  const socatPath = socat();
  const pty = join(TMP, "ttyBOARD");
  let bridge: ChildProcess | undefined;
  let lan: Lan | undefined;

  beforeAll(async () => {
    if (socatPath === undefined) return;
    lan = await startBoards({ count: 1, consolePort: 47510, accessPoint: AP, onLog: (e) => logs.push(e) });
    bridge = spawn(socatPath, ["-d", "-d", `pty,raw,echo=0,link=${pty}`, "tcp:127.0.0.1:47510"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    for (let i = 0; i < 300 && !existsSync(pty); i++) await new Promise((r) => setTimeout(r, 10));
    if (!existsSync(pty)) throw new Error("socat did not create the pty");
  }, 30000);

  afterAll(async () => {
    bridge?.kill();
    await lan?.stop();
  });

  it("flash --save through serialport: the firmware runs, and again after a power cycle", async (ctx) => {
    if (lan === undefined) {
      ctx.skip();
      return;
    }
    const b = lan.boards[0]!;
    const ns = inNamespace();
    if (ns === undefined)
      console.log("note: no network namespace here (unshare -n); the flash runs in this one");
    const config = configFile("pty.json", { port: 47610, wifi: AP, statusEveryMs: 0 });
    const r = await syfala(ns ?? [], ["flash", "--port", pty, "--config", config, "--save"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual([
      `connecting to ${pty}`,
      expect.stringMatching(/^board: EMULATOR, Espruino 2v29, \d+\/3000 blocks free$/),
      "config: wrote syfala.json (wifi 'studio' (password set), port 47610, in=I16@16000x1/256:tone,out=I16@16000x1/256:discard)",
    ]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^upload: \d+ bytes in \d+\.\d s \(saved to flash\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^verified: syfala ${VERSION} on EMULATOR: port 47610, 1 in, 1 out; \\d+/3000 blocks free; \\.bootcde \\d+ bytes$`,
        ),
      ),
    );
    // In its own namespace the command cannot reach the board's UDP address: only the pty.
    if (ns !== undefined) {
      expect(lines).toContain(
        `discovery: no answer from ${b.address}:47610 within 3 s (is this computer on the board's network?)`,
      );
    }
    expect(b.storage.read(".bootcde")).toBe(readFileSync(FIRMWARE_MIN, "latin1"));
    expect(await discover(b.address, 47610)).toEqual({ inputs: [mono16k], outputs: [mono16k] });
    await b.restart();
    expect(await discover(b.address, 47610)).toEqual({ inputs: [mono16k], outputs: [mono16k] });
  }, 120000);

  it("configure and monitor through serialport", async (ctx) => {
    if (lan === undefined) {
      ctx.skip();
      return;
    }
    const b = lan.boards[0]!;
    if (b.storage.read(".bootcde") === undefined) {
      b.storage.write(".bootcde", readFileSync(FIRMWARE, "latin1"));
      b.storage.write("syfala.json", JSON.stringify({ port: 47610, wifi: AP }));
      await b.restart();
    }
    const r = await runCli([
      "configure",
      "--port",
      pty,
      "--formats",
      "in=IEEF32@48kx2/32:tone@1000",
      "--restart",
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe(`restarted (load()): syfala ${VERSION} on EMULATOR: port 47610, 1 in, 1 out`);
    expect(await discover(b.address, 47610)).toEqual({
      inputs: [{ sampleRate: 48000, channelCount: 2, bufferSize: 32, sampleType: "IEEF32" }],
      outputs: [mono16k],
    });
    const t = fakeTerminal();
    const done = run(makeMonitorCommand(t.term), ["--port", pty]);
    t.stdin.end("6*7\n");
    const m = await done;
    expect(m.code).toBe(0);
    expect(t.out()).toContain("6*7\r\n=42\r\n");
  }, 60000);
});

describe("the upload tools' process", () => {
  it("cannot open any network connection", () => {
    const worker = join(ROOT, "host/board/upload-worker.ts");
    const script = `await import(${JSON.stringify(worker)});
const net = await import("node:net"); const https = await import("node:https"); const dgram = await import("node:dgram");
for (const f of [() => net.connect(80, "example.com"), () => https.get("https://example.com"), () => dgram.createSocket("udp4"), () => fetch("https://example.com")]) {
  try { f(); console.log("open"); } catch (e) { console.log(e.message); }
}
process.exit(0);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30000,
    });
    expect(r.stdout.trim().split("\n")).toEqual([
      "the upload tool tried to use the network (net.connect): refused",
      "the upload tool tried to use the network (https.get): refused",
      "the upload tool tried to use the network (dgram.createSocket): refused",
      "the upload tool tried to use the network (fetch): refused",
    ]);
  });
});

describe("configure without a board's answer", () => {
  it("tells a wrong --port from a silent board", async () => {
    const r = await run(configureCommand, ["--port", join(TMP, "no-such-tty"), "--show"]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^syfala configure: cannot open .*no-such-tty: /);
  });
});
