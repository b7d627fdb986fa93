/**
 * The emulated board's TCP console: the REPL as a terminal sees it (prompt, echo, `=result`,
 * continuation lines, echo-off lines, Ctrl-C, process.env queries as the upload tool makes them),
 * and the REAL upload tool (node_modules/espruino) uploading a program into a board, in RAM and
 * saved to Storage. The upload runs in a network namespace of its own (unshare -n, only lo up), with the
 * board inside it, so that it provably reaches nothing outside the machine.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Lan, startBoards } from "../host/emulator/index.js";
import { modulesOf, PROFILES } from "../host/emulator/profile.js";
import { countBrackets } from "../host/emulator/repl.js";
import { NO_NAMESPACES, namespacesWork, runInNamespace } from "./support/namespace.js";

const running: Lan[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((l) => l.stop()));
});

async function until(cond: () => boolean, maxMs = 3000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A console session: what the board sent so far, and a way to type. */
async function session(): Promise<{ seen: () => string; type: (s: string) => void; mark: () => number }> {
  const lan = await startBoards({ profile: "linux" });
  running.push(lan);
  const sock = net.connect(lan.boards[0]!.consolePort!, "127.0.0.1");
  sockets.push(sock);
  let text = "";
  sock.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
  await until(() => text.endsWith(">"));
  return { seen: () => text, type: (s) => sock.write(Buffer.from(s, "latin1")), mark: () => text.length };
}

describe("console REPL", () => {
  it("counts brackets like Espruino: strings, comments, regexps and templates do not count", () => {
    expect(countBrackets("function f() {")).toBe(1);
    expect(countBrackets('var s = "{(";')).toBe(0);
    expect(countBrackets("var r = /[{(]/; // {")).toBe(0);
    expect(countBrackets("/* {")).toBe(1000);
    expect(countBrackets("`a ${")).toBe(1000);
    expect(countBrackets("var s = 'open")).toBe(0);
    expect(countBrackets("a = b / c; if (x) {")).toBe(1);
  });

  it("echoes, prints =result and the prompt; continues unbalanced lines with ':'", async () => {
    const s = await session();
    let from = s.mark();
    s.type("1+2\r\n");
    await until(() => s.seen().slice(from).endsWith(">"));
    expect(s.seen().slice(from)).toBe("1+2\r\n=3\r\n>");
    from = s.mark();
    s.type("function f(a) {\n  return a * 2;\n}\n");
    await until(() => s.seen().slice(from).endsWith("=undefined\r\n>"));
    expect(s.seen().slice(from)).toBe("function f(a) {\r\n:  return a * 2;\r\n:}\r\n=undefined\r\n>");
    from = s.mark();
    s.type("f(21)\n");
    await until(() => s.seen().slice(from).endsWith(">"));
    expect(s.seen().slice(from)).toBe("f(21)\r\n=42\r\n>");
  });

  it("runs 0x10 lines without echo; reports errors as Uncaught; Ctrl-C clears the line", async () => {
    const s = await session();
    let from = s.mark();
    s.type('\x10print("<","<<",JSON.stringify(process.env),">>",">")\n');
    await until(() => s.seen().slice(from).includes(">> >"));
    const answer = /< << (.*) >> >/.exec(s.seen().slice(from));
    expect(JSON.parse(answer![1]!)).toMatchObject({
      BOARD: "EMULATOR",
      VERSION: "2v29",
      MODULES: modulesOf(PROFILES.linux).join(","),
    });
    expect(modulesOf(PROFILES.linux)).toEqual(["dgram", "Storage", "Flash"]);
    expect(s.seen().slice(from)).not.toContain("print(");
    from = s.mark();
    s.type("nothere()\n");
    await until(() => s.seen().slice(from).endsWith(">"));
    expect(s.seen().slice(from)).toMatch(/^nothere\(\)\r\nUncaught ReferenceError: nothere is not defined/);
    from = s.mark();
    s.type("var half = (\x03");
    s.type("\x10var ok = 1\n");
    await until(() => s.seen().slice(from).includes(">"));
    s.type("ok\n");
    await until(() => s.seen().slice(from).includes("=1"));
  });

  it("refuses code Espruino cannot parse with a SyntaxError", async () => {
    const s = await session();
    const from = s.mark();
    s.type("var {a} = {a: 1}\n");
    await until(() => s.seen().slice(from).endsWith(">"));
    expect(s.seen().slice(from)).toContain("Uncaught SyntaxError: ");
  });
});

describe("upload with the real espruino tool, in a network namespace", () => {
  it("uploads a program into RAM and into Storage; the board runs it and answers UDP", (ctx) => {
    if (!namespacesWork()) {
      console.log(NO_NAMESPACES);
      ctx.skip();
      return;
    }
    const r = runInNamespace("test/fixtures/emulator/upload-runner.ts", [], 90000);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as {
      steps: { name: string; toolExit: number | null; toolOutput: string; reply: string | null }[];
      log: string[];
      bootcde: string | null;
    };
    expect(result.steps.map((s) => [s.name, s.toolExit, s.reply])).toEqual([
      ["ram", 0, "uploaded:ram"],
      ["saved+restart", 0, "uploaded:flash"],
    ]);
    for (const s of result.steps) {
      expect(s.toolOutput).toContain("Upload Complete");
      expect(s.toolOutput).not.toMatch(/getURL|Module .* not found|Unable to connect/);
    }
    expect(result.log.filter((l) => l === "hello upload from EMULATOR").length).toBeGreaterThanOrEqual(3);
    expect(result.bootcde).toContain("sock.bind(7100);");
  }, 120000);
});
