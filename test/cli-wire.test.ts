import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parse } from "lossless-json";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { jsonEqual, messageVectors } from "./support/vectors.js";

/** The `json` member of a result line, re-serialised losslessly for comparison. */
function lineJson(line: string): string {
  const start = line.indexOf('"json":') + 7;
  const end = line.lastIndexOf(',"consumed"');
  return line.slice(start, end);
}

describe("syfala wire decode", () => {
  it("decodes every vector in every form with --codec auto, one line each", async () => {
    for (const form of ["postcard", "msgpack", "msgpack_named"] as const) {
      for (const side of ["client", "server"] as const) {
        const vs = messageVectors.filter((v) => v.side === side);
        const r = await runCli(["wire", "decode", "--side", side, ...vs.map((v) => v[form])]);
        expect(r.code).toBe(0);
        expect(r.out).toHaveLength(vs.length);
        r.out.forEach((line, i) => {
          const v = vs[i]!;
          const parsed = parse(line) as { ok: boolean; consumed: unknown; remaining: unknown };
          expect(parsed.ok, line).toBe(true);
          expect(String(parsed.consumed)).toBe(String(v[form].length / 2));
          expect(String(parsed.remaining)).toBe("0");
          expect(jsonEqual(lineJson(line), v.json), `${form} ${v.desc}`).toBe(true);
        });
      }
    }
  });

  it("prints the issue's example line exactly", async () => {
    const r = await runCli(["wire", "decode", "--side", "client", "0601000000ff00000000000000020000000a0b"]);
    expect(r.out).toEqual([
      '{"ok":true,"json":{"Connected":{"Audio":{"stream_idx":1,"stream_msg":{"byte_idx":255,"n_bytes":2}}}},"consumed":17,"remaining":2}',
    ]);
  });

  it("reports truncated and invalid input as result lines, still exit 0", async () => {
    const r = await runCli([
      "wire",
      "decode",
      "--side",
      "server",
      "--codec",
      "postcard",
      "07000000",
      "0a",
      "",
    ]);
    expect(r.code).toBe(0);
    const lines = r.out.map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.ok, l.error])).toEqual([
      [false, "truncated"],
      [false, "invalid"],
      [false, "truncated"],
    ]);
    expect(lines[0].message).toMatch(/truncated at byte 4/);
  });

  it("reads --stdin, one hex datagram per line, an empty line being the empty datagram", async () => {
    const r = await runCli(
      ["wire", "decode", "--side", "client", "--stdin"],
      ["08", "", "81a9446973636f76657279"],
    );
    expect(r.code).toBe(0);
    expect(r.out.map((l) => JSON.parse(l).ok)).toEqual([true, false, false]);
    expect(JSON.parse(r.out[0]!).json).toEqual({ Connected: { Control: "Heartbeat" } });
  });

  it("keeps u64 byte indices exact in the printed JSON", async () => {
    const r = await runCli(["wire", "decode", "--side", "server", "07ffffffffffffffffffffffff00000000"]);
    expect(r.out[0]).toContain('"byte_idx":18446744073709551615');
  });

  it.each([
    [["wire", "decode", "00"], /--side client\|server is required/],
    [["wire", "decode", "--side", "both", "00"], /--side must be one of client, server \(got 'both'\)/],
    [["wire", "decode", "--side", "client", "--codec", "json", "00"], /--codec must be one of/],
    [["wire", "decode", "--side", "client", "0g"], /argument 1 is not hex/],
    [["wire", "decode", "--side", "client", "000"], /odd number of digits/],
    [["wire", "decode", "--side", "client"], /nothing to decode/],
    [["wire", "decode", "--side", "client", "--bogus"], /Unknown option '--bogus'/],
    [["wire", "frob"], /unknown subcommand 'frob'/],
    [["frob"], /unknown command 'frob'/],
  ])("bad arguments %j: one line, exit 2", async (argv, pattern) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(pattern);
    expect(r.out).toHaveLength(0);
  });
});

describe("syfala wire encode", () => {
  it("encodes every vector's JSON to its postcard and msgpack bytes", async () => {
    for (const codec of ["postcard", "msgpack"] as const) {
      for (const side of ["client", "server"] as const) {
        const vs = messageVectors.filter((v) => v.side === side);
        const r = await runCli([
          "wire",
          "encode",
          "--side",
          side,
          "--codec",
          codec,
          ...vs.map((v) => v.json),
        ]);
        expect(r.code).toBe(0);
        expect(r.out).toEqual(vs.map((v) => v[codec]));
      }
    }
  });

  it("names the problem in a message that does not fit the side", async () => {
    const r = await runCli([
      "wire",
      "encode",
      "--side",
      "client",
      "--codec",
      "postcard",
      '{"Connect":{"inputs":[],"outputs":[]}}',
    ]);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/argument 1 is not a client message/);
    const bad = await runCli(["wire", "encode", "--side", "server", "--codec", "postcard", "{"]);
    expect(bad.err[0]).toMatch(/bad JSON at character/);
    const range = await runCli([
      "wire",
      "encode",
      "--side",
      "server",
      "--codec",
      "postcard",
      '{"Connected":{"Audio":{"stream_idx":0,"stream_msg":{"byte_idx":18446744073709551616,"n_bytes":0}}}}',
    ]);
    expect(range.code).toBe(2);
    expect(range.err[0]).toMatch(/byte_idx: expected an integer from 0 to 18446744073709551615/);
  });
});

describe("the syfala binary", () => {
  it("runs as a process through bin/syfala.mjs", () => {
    const bin = fileURLToPath(new URL("../bin/syfala.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [bin, "wire", "decode", "--side", "client", "08"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(
      '{"ok":true,"json":{"Connected":{"Control":"Heartbeat"}},"consumed":1,"remaining":0}',
    );
    const bad = spawnSync(process.execPath, [bin, "wire", "decode"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});
