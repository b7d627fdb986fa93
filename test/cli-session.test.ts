/**
 * `syfala session` against emulated boards running the real firmware (real UDP on 127.0.0.0/8;
 * this file's ports: 48200-48249):
 * - board A (loopback pair on stream 0, test pattern on input 1): recording checked sample by
 *   sample, --check-loopback passing, --play of a WAV arriving intact, Ctrl-C mid-recording;
 * - board B, loopback broken on purpose: its configuration asks for a loopback input but its
 *   output stream is "discard", so the firmware (config.ts: "no like pair") sends its default
 *   tone on input 0 and echoes nothing. That is an honest broken loopback: what comes back is
 *   real audio, just not ours;
 * - board C, an input stream of a type WAV cannot hold (U16): --record is refused.
 * The expected audio is computed here from the pattern's definition, never by the client code.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lan } from "../host/emulator/index.js";
import { WavWriter } from "../host/media/wav.js";
import { runCli } from "./support/cli.js";
import { expectedPattern, firmwareBoards, ROOT, readPcm, tempDir } from "./support/client-boards.js";
import { mulberry32 } from "./support/prng.js";
import { startSyfala } from "./support/syfala-process.js";

const PORT_A = 48200;
const PORT_B = 48201;
const PORT_C = 48202;
const NOBODY = 48249;
const lans: Lan[] = [];
let A = "";
let B = "";
let C = "";
const tmp = tempDir("cli-session-");

beforeAll(async () => {
  const a = await firmwareBoards(
    1,
    PORT_A,
    [{ source: "loopback" }, { source: "pattern" }],
    [{ sink: "loopback" }],
  );
  const b = await firmwareBoards(1, PORT_B, [{ source: "loopback" }], [{ sink: "discard" }]);
  const c = await firmwareBoards(
    1,
    PORT_C,
    [{ source: "pattern", sampleType: "U16" }],
    [{ sink: "discard" }],
  );
  lans.push(a, b, c);
  A = `${a.boards[0]!.address}:${PORT_A}`;
  B = `${b.boards[0]!.address}:${PORT_B}`;
  C = `${c.boards[0]!.address}:${PORT_C}`;
}, 30000);

afterAll(async () => {
  await Promise.all(lans.map((l) => l.stop()));
  tmp.remove();
});

/** Frame-by-frame check of 16-bit mono `data` against stream `s`'s pattern: every frame is the pattern or silence. */
function checkPatternFrames(
  data: Uint8Array,
  s: number,
): { matched: number; silent: number; silentRuns: number[][] } {
  let matched = 0;
  let silent = 0;
  const runs: number[][] = [];
  for (let f = 0; f < data.length / 2; f++) {
    const lo = data[2 * f]!;
    const hi = data[2 * f + 1]!;
    if (lo === expectedPattern(2 * f, s) && hi === expectedPattern(2 * f + 1, s)) {
      matched++;
    } else if (lo === 0 && hi === 0) {
      silent++;
      const last = runs.at(-1);
      if (last !== undefined && last[1] === f) last[1] = f + 1;
      else runs.push([f, f + 1]);
    } else {
      throw new Error(`frame ${f} is neither the pattern nor silence: ${lo}, ${hi}`);
    }
  }
  return { matched, silent, silentRuns: runs };
}

describe("syfala session against the real firmware", () => {
  it("records 5 s whose every frame is the pattern at its byte index (lost frames silence)", async () => {
    const file = join(tmp.dir, "take.wav");
    const r = await runCli(["session", A, "--duration", "5s", "--record", file]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    // input 1 (the pattern) goes to take.in1.wav, input 0 (the echo of our silence) to take.wav
    const p = readPcm(join(tmp.dir, "take.in1.wav"));
    expect([p.sampleRate, p.channels, p.bits]).toEqual([16000, 1, 16]);
    expect(p.riffSize).toBe(p.fileSize - 8);
    expect(p.dataSize).toBe(p.fileSize - 44);
    const frames = p.dataSize / 2;
    expect(frames).toBeGreaterThanOrEqual(5 * 16000 - 512);
    expect(frames).toBeLessThanOrEqual(5.5 * 16000);
    const c = checkPatternFrames(p.data, 1);
    expect(c.matched + c.silent).toBe(frames);
    // Nothing is injected here: nearly every frame arrived; what did not is whole packets.
    expect(c.matched).toBeGreaterThanOrEqual(frames * 0.98);
    for (const [from, to] of c.silentRuns) {
      expect(from! % 256).toBe(0);
      expect(to! % 256).toBe(0);
    }
    const echo = readPcm(file);
    expect(echo.dataSize).toBeGreaterThan(4 * 32000);
    expect(echo.data.every((b) => b === 0)).toBe(true);
    expect(r.out.join("\n")).toContain(`recorded ${frames} frames to ${join(tmp.dir, "take.in1.wav")}`);
  });

  it("--check-loopback passes on a loopback board and says how much it compared", async () => {
    const r = await runCli(["session", A, "--duration", "2s", "--check-loopback", "--pattern", "--json"]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out[0]!) as {
      ok: boolean;
      loopback: { input: number; output: number; compared: number; mismatched: number; ok: boolean }[];
      outputs: { bytes: number }[];
      rtt: { loopback: { count: number; minMs: number; meanMs: number; maxMs: number } };
    };
    expect(j.ok).toBe(true);
    expect(j.loopback).toHaveLength(1);
    const v = j.loopback[0]!;
    expect([v.input, v.output, v.mismatched, v.ok]).toEqual([0, 0, 0, true]);
    // about 2 s of 32000 B/s came back and was compared (a message or two may be in flight)
    expect(v.compared).toBeGreaterThan(60000);
    expect(v.compared).toBeLessThanOrEqual(j.outputs[0]!.bytes);
    expect(j.rtt.loopback.count).toBeGreaterThan(100);
    // a round trip through a board on this machine: positive, ordered, and well under a packet (16 ms)
    const rtt = j.rtt.loopback;
    expect(rtt.minMs).toBeGreaterThan(0);
    expect(rtt.minMs).toBeLessThanOrEqual(rtt.meanMs);
    expect(rtt.meanMs).toBeLessThanOrEqual(rtt.maxMs);
    expect(rtt.minMs).toBeLessThan(10);
  });

  it("--check-loopback fails with a clear message when the board does not echo", async () => {
    const r = await runCli(["session", B, "--duration", "1500ms", "--check-loopback", "--pattern"]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(
      /^syfala session: loopback check failed: in 0 <- out 0: \d+ of \d+ bytes compared differ from what was sent \(first at byte \d+: got 0x[0-9a-f]{2}, sent 0x[0-9a-f]{2}\)(; \d+ bytes came back before they were sent)?$/,
    );
    expect(r.out.join("\n")).toContain("FAILED");
  });

  it("--expect-pattern checks every received byte of a pattern board, and reports the latency", async () => {
    const r = await runCli(["session", C, "--duration", "1500ms", "--expect-pattern", "--json"]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out[0]!) as {
      ok: boolean;
      content: { stream: number; compared: number; mismatched: number; padded: number; ok: boolean }[];
      inputs: {
        bytes: number;
        lostBytes: number;
        latency: { count: number; packetMs: number; p50Ms: number };
      }[];
    };
    expect(j.ok).toBe(true);
    expect(j.content).toHaveLength(1);
    const v = j.content[0]!;
    expect([v.stream, v.mismatched, v.ok]).toEqual([0, 0, true]);
    // 1.5 s of U16 mono at 16 kHz is 48,000 bytes; everything received was compared
    expect(v.compared).toBeGreaterThan(40000);
    expect(v.compared + v.padded).toBe(j.inputs[0]!.bytes + j.inputs[0]!.lostBytes);
    const lat = j.inputs[0]!.latency;
    // 256 frames at 16 kHz: 16 ms per packet; the board sends one once its last sample is due
    expect(lat.packetMs).toBe(16);
    expect(lat.count).toBeGreaterThan(80);
    expect(lat.p50Ms).toBeGreaterThanOrEqual(lat.packetMs - 2);
  });

  it("--expect-pattern fails naming the first differing byte when an input is not the pattern", async () => {
    // Board A's input 0 echoes our silence: byte 1 of the pattern of stream 0 is 31 = 0x1f.
    const r = await runCli(["session", A, "--duration", "1s", "--expect-pattern"]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(
      /^syfala session: content check failed: in 0 = pattern: \d+ of \d+ bytes compared differ \(first at byte 1: got 0x00, expected 0x1f\); \d+ bytes padded$/,
    );
    expect(r.out.join("\n")).toMatch(
      /content in 1 = pattern: \d+ bytes compared, all equal; \d+ bytes padded: ok/,
    );
  });

  it("--play of a WAV arrives intact through a loopback board, byte for byte", async () => {
    const wav = join(tmp.dir, "noise.wav");
    const rng = mulberry32(6);
    const bytes = new Uint8Array(16000 * 2); // 1 s, 16 kHz mono I16
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
    const w = WavWriter.open(wav, { sampleRate: 16000, channelCount: 1, sampleType: "I16" });
    w.write(0, bytes);
    w.closeSync();
    const echo = join(tmp.dir, "echo.wav");
    const r = await runCli(["session", A, "--duration", "1800ms", "--play", wav, "--record", echo]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const got = readPcm(echo);
    expect(got.dataSize).toBeGreaterThan(bytes.length);
    const n = bytes.length;
    let differ = 0;
    for (let i = 0; i < n; i++) if (got.data[i] !== bytes[i]) differ++;
    expect(differ).toBe(0);
    // after the file: silence, as sent
    expect(got.data.subarray(n).every((b) => b === 0)).toBe(true);
  });

  it("refuses the connection, before any audio, when the WAV does not match the output stream", async () => {
    const wav = join(tmp.dir, "cd.wav");
    const w = WavWriter.open(wav, { sampleRate: 44100, channelCount: 2, sampleType: "I16" });
    w.write(0, new Uint8Array(4 * 4410));
    w.closeSync();
    const rec = join(tmp.dir, "never.wav");
    const r = await runCli(["session", A, "--duration", "1s", "--play", wav, "--record", rec]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `syfala session: cannot play ${wav} on output 0: the file is I16 44100 Hz x2, the stream is I16 16000 Hz x1, 256-frame packets; refused the connection`,
    ]);
    expect(existsSync(rec)).toBe(false);
  });

  it("refuses to record a stream type a WAV cannot hold", async () => {
    const rec = join(tmp.dir, "u16.wav");
    const r = await runCli(["session", C, "--duration", "1s", "--record", rec]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toContain("cannot record input 0 (U16 16000 Hz x1, 256-frame packets)");
    expect(r.err[0]).toContain("refused the connection");
    expect(existsSync(rec)).toBe(false);
  });

  it("an unreachable server: one line, exit 1", async () => {
    const r = await runCli(["session", `127.0.0.1:${NOBODY}`, "--timeout", "500ms"]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `syfala session: no answer from 127.0.0.1:${NOBODY} within 500 ms (is a server running there?)`,
    ]);
  });

  it.each([
    [[], "SERVER"],
    [["127.0.0.1:99999"], "SERVER"],
    [["127.0.0.1:x"], "SERVER"],
    [["127.0.0.1", "--duration", "ten"], "--duration"],
    [["127.0.0.1", "--duration", "-0"], "--duration"],
    [["127.0.0.1", "--timeout", "1h"], "--timeout"],
    [["127.0.0.1", "--latency-ms", "-5"], "--latency-ms"],
    [["127.0.0.1", "--tone", "loud"], "--tone"],
    [["127.0.0.1", "--codec", "json"], "--codec"],
    [["127.0.0.1", "--tone", "440", "--pattern"], "--pattern"],
    [["127.0.0.1", "--play", "/nonexistent/x.wav"], "--play"],
    [["127.0.0.1", "--record", "/nonexistent/dir/x.wav"], "--record"],
    [["127.0.0.1", "--bogus"], "--bogus"],
    [["127.0.0.1", "127.0.0.2"], "127.0.0.2"],
  ])("bad arguments %j: exit 2, one line naming %s", async (args, named) => {
    const r = await runCli(["session", ...args]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^syfala session: /);
    expect(r.err[0]).toContain(named);
  });

  it("--play of a file that is not a WAV: exit 2 naming it", async () => {
    const r = await runCli(["session", "127.0.0.1", "--play", join(ROOT, "package.json")]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toContain(`--play ${join(ROOT, "package.json")}: `);
  });

  it("--help describes every option", async () => {
    const r = await runCli(["session", "--help"]);
    expect(r.code).toBe(0);
    const text = r.out.join("\n");
    for (const o of [
      "--duration",
      "--record",
      "--play",
      "--tone",
      "--pattern",
      "--latency-ms",
      "--codec",
      "--check-loopback",
      "--expect-pattern",
      "--json",
    ]) {
      expect(text).toContain(o);
    }
  });

  it("Ctrl-C mid-recording (the real bin/syfala.mjs): exit 130 and a valid WAV", async () => {
    const file = join(tmp.dir, "interrupted.wav");
    const proc = startSyfala(["session", A, "--duration", "60s", "--pattern", "--record", file]);
    const { child, exited } = proc;
    try {
      // wait until more than a second of audio is on disk (the header is rewritten every second)
      const end = Date.now() + 20000;
      while (!(existsSync(file) && statSync(file).size > 44 + 40000)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`no recording: ${proc.err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill("SIGINT");
      expect(await exited).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    expect(proc.err()).toBe("");
    expect(proc.out()).toContain("interrupted: IO stopped, disconnected, recordings finished");
    const p = readPcm(file);
    expect(p.riffSize).toBe(p.fileSize - 8);
    expect(p.dataSize).toBe(p.fileSize - 44);
    expect(p.dataSize).toBeGreaterThan(40000);
    // input 0 echoes our pattern on output 0: the recording is that pattern
    const c = checkPatternFrames(p.data, 0);
    expect(c.matched).toBeGreaterThanOrEqual((p.dataSize / 2) * 0.98);
  });
});
