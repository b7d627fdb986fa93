/**
 * `syfala flash`: puts the firmware on a board through Espruino's upload tools (host/board/upload.ts),
 * with its configuration, and checks that it runs. One connection from start to end: read the
 * board, write syfala.json, upload, verify (the firmware's boot line with the expected version,
 * Storage read back, and Discovery answered when the board is on Wi-Fi).
 */

import { existsSync, readFileSync } from "node:fs";
import { describeFormat, type StreamFormats } from "../../shared/format.js";
import {
  assertValidConfig,
  ConfigError,
  type ConfigObject,
  configText,
  mergeConfig,
  parseBoardConfig,
  withoutPassword,
} from "../board/config-file.js";
import { type BoardConsole, BoardError } from "../board/console.js";
import { probeDiscovery } from "../board/discovery-probe.js";
import { formatFormatsSpec } from "../board/formats-spec.js";
import { formatPortSpec } from "../board/port.js";
import { boardDescription, uploadCode } from "../board/upload.js";
import { formatDuration } from "../duration-text.js";
import { parse } from "./args.js";
import {
  baudOption,
  configFileOption,
  connect,
  noPositionals,
  PORT_HELP,
  PORT_OPTIONS,
  portOption,
  processTerminal,
  reportFailures,
  type Terminal,
  wifiOption,
} from "./board-options.js";
import { inPackage } from "./paths.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala flash --port PORT [--firmware FILE] [--config FILE] [--wifi SSID[:PASSWORD]]
                    [--ram] [--baud N] [--json]

Uploads the firmware to a board with Espruino's upload tools, writes its configuration
(syfala.json in the board's Storage) and checks that it runs.
${PORT_HELP}
  --firmware FILE  the firmware (default build/firmware/syfala.min.js; 'make firmware' builds it)
  --config FILE    a syfala.json for the board, checked first with the firmware's own rules:
                   refused when the firmware would not use it as written
  --wifi SSID[:PASSWORD]
                   the Wi-Fi network, merged into --config, or else into the board's current
                   syfala.json (the first ':' separates name and password; without one, the
                   password comes from $SYFALA_WIFI_PASSWORD when set, off the command line)
  --ram            upload into RAM only: the firmware runs until the next reset, and its code
                   text stays in RAM, which may not fit an ESP32 (measured on Espruino 2v29:
                   about 3,300 blocks in use from RAM against 2,500 from flash, of the
                   2,500-3,500 an ESP32 with Wi-Fi has). Without it (the default, also
                   --save) the firmware is stored in flash (Storage .bootcde) and runs at
                   power-on
  --json           print one JSON object with the result instead of text
Steps: connect; read the board (Espruino version, memory, its syfala.json); write the new
configuration; upload (a progress bar on a terminal); verify: the firmware prints its boot line
"syfala VERSION on BOARD: port P, N in, M out" with the version of the file, and, when the board
is on Wi-Fi, answers Discovery at its address. Nothing goes online: the upload tools are given
the board's description by the board itself (emulated boards: host/emulator/EMULATOR.json).
Exit codes: 0 flashed and verified, 1 failed (the line says at which step), 2 bad arguments.`;

/** Longest wait for the firmware's boot line after the upload (ms). */
const BOOT_LINE_MS = 15000;
/** Longest wait for the board to get an IP address, then for a Discovery answer (ms). */
const IP_WAIT_MS = 10000;
const DISCOVERY_MS = 3000;

/** The firmware's boot line (firmware/main.ts). */
export const BOOT_LINE = /syfala (\S+) on ([^:\r\n]+): port (\d+), (\d+) in, (\d+) out/;

/** The version in a firmware build's first line (`// syfala firmware 0.1.0 for Espruino ...`). */
export function firmwareVersion(code: string): string | undefined {
  return /^\/\/ syfala firmware (\S+)/.exec(code)?.[1];
}

/** A progress display: a bar redrawn in place on a terminal, one line at the start and end otherwise. */
function progress(
  term: Terminal,
  io: Io,
  json: boolean,
): { update(sent: number, total: number): void; end(): void } {
  const tty = term.stderr.isTTY === true && !json;
  let started = false;
  let last = -1;
  let drawn = 0;
  return {
    update(sent, total) {
      if (!started) {
        started = true;
        if (!tty && !json) io.out(`upload: sending ${total} bytes...`);
      }
      if (!tty) return;
      const pct = total > 0 ? Math.min(100, Math.floor((sent * 100) / total)) : 0;
      const now = Date.now();
      if (pct === last && now - drawn < 200) return;
      last = pct;
      drawn = now;
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      const kb = (n: number): string => (n / 1000).toFixed(1);
      term.stderr.write(
        `\rupload [${"#".repeat(fill)}${".".repeat(width - fill)}] ${String(pct).padStart(3)}% ${kb(sent)}/${kb(total)} kB`,
      );
    },
    end() {
      if (tty && started) term.stderr.write("\r\x1b[K");
    },
  };
}

function formatsText(f: StreamFormats): string {
  const side = (name: string, list: StreamFormats["inputs"]): string =>
    list.length === 0 ? `no ${name}` : `${name} ${list.map(describeFormat).join("; ")}`;
  return `${side("in", f.inputs)} | ${side("out", f.outputs)}`;
}

/** The board's IP address once it has one ("" when it has no Wi-Fi module or none came in time). */
async function boardIp(con: BoardConsole): Promise<string> {
  const end = Date.now() + IP_WAIT_MS;
  for (;;) {
    const ip = await con.evaluate(
      '(function(){try{return require("Wifi").getIP().ip}catch(e){return ""}})()',
    );
    if (typeof ip !== "string" || ip === "") return "";
    if (ip !== "0.0.0.0") return ip;
    if (Date.now() > end) return "";
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A short description of a configuration for the summary line (password not shown). */
export function configSummary(c: ConfigObject): string {
  const parts: string[] = [];
  const wifi = c["wifi"];
  if (typeof wifi === "object" && wifi !== null) {
    const w = wifi as Record<string, unknown>;
    if (typeof w["ssid"] === "string" && w["ssid"] !== "") {
      parts.push(
        `wifi '${w["ssid"]}'${typeof w["password"] === "string" && w["password"] !== "" ? " (password set)" : ""}`,
      );
    }
  } else parts.push("no wifi");
  parts.push(`port ${typeof c["port"] === "number" ? c["port"] : 6910}`);
  parts.push(formatFormatsSpec(c));
  return parts.join(", ");
}

/** Makes the `syfala flash` command drawing on `term`. */
export function makeFlashCommand(term: Terminal): (args: string[], io: Io) => Promise<number> {
  return async (args, io) => {
    const { values, positionals } = parse(args, {
      ...PORT_OPTIONS,
      firmware: { type: "string" },
      config: { type: "string" },
      wifi: { type: "string" },
      save: { type: "boolean" },
      ram: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.out(HELP);
      return EXIT.OK;
    }
    noPositionals(positionals);
    const spec = portOption(values.port);
    const baud = baudOption(values.baud);
    const wifi = wifiOption(values.wifi);
    const json = values.json === true;
    if (values.save === true && values.ram === true) {
      throw new UsageError("--save and --ram exclude each other (saving to flash is the default)");
    }
    const save = values.ram !== true;
    const firmwarePath = values.firmware ?? inPackage("build/firmware/syfala.min.js");
    if (!existsSync(firmwarePath)) {
      throw new UsageError(`firmware file not found: ${firmwarePath} (build it with 'make firmware')`);
    }
    const code = readFileSync(firmwarePath, "latin1");
    if (code.length === 0) throw new UsageError(`firmware file ${firmwarePath} is empty`);
    const expected = firmwareVersion(code);
    const fileConfig =
      values.config === undefined
        ? undefined
        : configFileOption(values.config, wifi === undefined ? {} : { wifi });
    const say = (line: string): void => {
      if (!json) io.out(line);
    };
    const notes: string[] = [];

    return reportFailures("flash", io, async () => {
      const name = formatPortSpec(spec);
      say(`connecting to ${name}`);
      const { link, console: con } = await connect(spec, baud);
      try {
        // 1. The board.
        const info = await con.info();
        say(
          `board: ${info.board}, Espruino ${info.version}, ${info.freeBlocks}/${info.totalBlocks} blocks free`,
        );

        // 2. Its configuration.
        let written: ConfigObject | undefined;
        if (fileConfig !== undefined || wifi !== undefined) {
          let base = fileConfig;
          if (base === undefined) {
            const current = parseBoardConfig(await con.readFile("syfala.json"));
            base = current ?? {};
          }
          written = wifi === undefined ? base : mergeConfig(base, { wifi });
          try {
            assertValidConfig(
              written,
              fileConfig === undefined ? "the board's syfala.json with --wifi" : "syfala.json",
            );
          } catch (e) {
            if (e instanceof ConfigError) throw new ConfigError(`${e.message} (give a --config FILE)`);
            throw e;
          }
          await con.writeFile("syfala.json", configText(written));
          say(`config: wrote syfala.json (${configSummary(written)})`);
        } else say("config: kept the board's syfala.json");

        // 3. The upload.
        const bar = progress(term, io, json);
        const from = con.mark();
        const up = await uploadCode(link, {
          code,
          save,
          board: boardDescription(info),
          fastWrite: spec.kind === "tcp",
          onProgress: (sent, total) => bar.update(sent, total),
        }).finally(() => bar.end());
        say(
          `upload: ${up.bytes} bytes in ${(up.ms / 1000).toFixed(1)} s (${save ? "saved to flash" : "RAM"})`,
        );

        // 4. Verification: the boot line, then the board's own account.
        let boot: RegExpExecArray;
        try {
          boot = await con.waitFor(BOOT_LINE, from, BOOT_LINE_MS, /Uncaught ([^\r\n]*)/);
        } catch (e) {
          if (e instanceof BoardError) {
            throw new BoardError(`verify: the firmware did not start (${e.message})`);
          }
          throw e;
        }
        const [bootLine, version = "", , udpPort = "0", ins = "0", outs = "0"] = boot;
        if (expected !== undefined && version !== expected) {
          throw new BoardError(`verify: the board runs syfala ${version}, the file is ${expected}`);
        }
        const after = await con.info();
        let savedBytes: number | undefined;
        const bootcde = await con.evaluate(
          '(function(){var c=require("Storage").read(".bootcde");return c===undefined?-1:c.length})()',
        );
        if (save) {
          if (typeof bootcde !== "number" || bootcde <= 0)
            throw new BoardError("verify: nothing was saved to flash (.bootcde)");
          savedBytes = bootcde;
        } else {
          notes.push(
            "the firmware runs from RAM: a reset or power cycle loses it, and its code takes RAM an ESP32 may not have (flash without --ram to keep it in flash)",
          );
          if (typeof bootcde === "number" && bootcde > 0) {
            notes.push(
              `the board also has a program saved in flash (.bootcde, ${bootcde} bytes) that runs at power-on`,
            );
          }
        }
        if (written !== undefined) {
          const back = await con.readFile("syfala.json");
          if (back !== configText(written))
            throw new BoardError("verify: syfala.json on the board is not what was written");
        }
        say(
          `verified: ${bootLine.trim()}; ${after.freeBlocks}/${after.totalBlocks} blocks free` +
            (savedBytes === undefined ? "" : `; .bootcde ${savedBytes} bytes`),
        );

        // 5. Discovery, when the board is on a network.
        const stored = parseBoardConfig(await con.readFile("syfala.json")) ?? {};
        const ssid = (stored["wifi"] as { ssid?: unknown } | undefined)?.ssid;
        let discovery: { address: string; port: number; formats: StreamFormats | null } | null = null;
        const hasWifiModule = info.modules.includes("Wifi");
        if (hasWifiModule && (typeof ssid !== "string" || ssid === "")) {
          say("discovery: not checked (no Wi-Fi network configured: use --wifi)");
        } else {
          const ip = await boardIp(con);
          if (ip === "") say("discovery: not checked (the board has no IP address)");
          else {
            const port = Number(udpPort);
            const formats = await probeDiscovery(ip, port, DISCOVERY_MS);
            discovery = { address: ip, port, formats: formats ?? null };
            if (formats === undefined) {
              say(
                `discovery: no answer from ${ip}:${port} within ${formatDuration(DISCOVERY_MS)} (is this computer on the board's network?)`,
              );
            } else say(`discovery: ${ip}:${port} answers: ${formatsText(formats)}`);
          }
        }
        for (const n of notes) say(`note: ${n}`);
        if (json) {
          io.out(
            JSON.stringify({
              ok: true,
              port: name,
              board: after.board,
              espruino: after.version,
              firmware: version,
              saved: save,
              bytes: up.bytes,
              ms: up.ms,
              config: written === undefined ? null : withoutPassword(written),
              udpPort: Number(udpPort),
              inputs: Number(ins),
              outputs: Number(outs),
              freeBlocks: after.freeBlocks,
              totalBlocks: after.totalBlocks,
              discovery,
              notes,
            }),
          );
        }
        return EXIT.OK;
      } finally {
        await link.close();
      }
    });
  };
}

/** `syfala flash` on the process's terminal. */
export const flashCommand = makeFlashCommand(processTerminal);
