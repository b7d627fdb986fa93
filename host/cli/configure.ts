/**
 * `syfala configure`: changes the configuration stored on a board (syfala.json in its Storage)
 * without uploading the firmware: read the board's file, apply the changes, check the result with
 * the firmware's own rules, write it and read it back; optionally restart the firmware so that it
 * takes effect at once.
 */

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
import {
  FORMATS_SYNTAX,
  type FormatsChange,
  FormatsSpecError,
  formatFormatsSpec,
  parseFormatsSpec,
} from "../board/formats-spec.js";
import type { Link } from "../board/link.js";
import { formatPortSpec } from "../board/port.js";
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
  reportFailures,
  wifiOption,
} from "./board-options.js";
import { BOOT_LINE, configSummary } from "./flash.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala configure --port PORT [--wifi SSID[:PASSWORD]] [--formats SPEC] [--config FILE]
                        [--show] [--restart] [--baud N] [--json]

Changes the configuration stored on a board (syfala.json in its Storage) without uploading the
firmware: reads the board's file, applies --config (its fields replace the board's), then --wifi
and --formats, checks the result with the firmware's own rules (refused, nothing written, when
the firmware would not use it as written), writes it and reads it back.
${PORT_HELP}
  --wifi SSID[:PASSWORD]
                   the Wi-Fi network (the first ':' separates name and password; without one,
                   the password comes from $SYFALA_WIFI_PASSWORD when set, off the command line)
${FORMATS_SYNTAX}
  --config FILE    a syfala.json whose fields replace the board's
  --show           print the configuration (after the changes, if any); the password is hidden
  --restart        restart the firmware now, so that it reads the new file: load() when the
                   firmware is saved in flash; otherwise (uploaded to RAM) its own stop and start
                   handlers, which keep it in RAM but keep the current Wi-Fi connection too
  --json           print one JSON object instead of text
Without --restart the firmware reads the file when it next starts: reset the board, or type
load() in 'syfala monitor' (which loses a firmware that was uploaded to RAM only).
Exit codes: 0 done, 1 the board could not be reached or refused the change, 2 bad arguments.`;

/** Longest wait for the boot line after a restart (ms). */
const RESTART_MS = 15000;

/**
 * Restarts the firmware and returns its boot line: load() when it is saved in flash (a
 * `.bootcde` holding the syfala firmware), else `E.emit("kill")` then `E.emit("init")` (the
 * firmware stops and starts on these, and its code stays in RAM).
 */
async function restart(link: Link, con: BoardConsole): Promise<{ line: string; how: "load" | "handlers" }> {
  const saved = await con.evaluate(
    '(function(){var c=require("Storage").read(".bootcde");return c!==undefined&&c.indexOf("syfala firmware")>=0})()',
  );
  const how = saved === true ? "load" : "handlers";
  const from = con.mark();
  await link.write(how === "load" ? "\x10load()\n" : '\x10E.emit("kill");E.emit("init")\n');
  try {
    const m = await con.waitFor(BOOT_LINE, from, RESTART_MS, /Uncaught ([^\r\n]*)/);
    return { line: m[0], how };
  } catch (e) {
    if (e instanceof BoardError) {
      const why = e.message.startsWith("no answer")
        ? `no boot line within ${formatDuration(RESTART_MS)}`
        : e.message;
      throw new BoardError(`the firmware did not restart (${why}); is it flashed? (syfala flash)`);
    }
    throw e;
  }
}

/** `syfala configure`. */
export async function configureCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...PORT_OPTIONS,
    wifi: { type: "string" },
    formats: { type: "string" },
    config: { type: "string" },
    show: { type: "boolean" },
    restart: { type: "boolean" },
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
  let formats: FormatsChange | undefined;
  if (values.formats !== undefined) {
    try {
      formats = parseFormatsSpec(values.formats);
    } catch (e) {
      if (e instanceof FormatsSpecError) throw new UsageError(`--formats ${e.message}`);
      throw e;
    }
  }
  const fileConfig = values.config === undefined ? undefined : configFileOption(values.config);
  const changing = wifi !== undefined || formats !== undefined || fileConfig !== undefined;
  const show = values.show === true;
  const doRestart = values.restart === true;
  const json = values.json === true;
  if (!changing && !show && !doRestart) {
    throw new UsageError("nothing to do: give --wifi, --formats, --config, --show or --restart");
  }

  return reportFailures("configure", io, async () => {
    const name = formatPortSpec(spec);
    const { link, console: con } = await connect(spec, baud);
    try {
      const text = await con.readFile("syfala.json");
      const current = parseBoardConfig(text);
      const notes: string[] = [];
      if (text !== undefined && current === undefined) {
        notes.push("the board's syfala.json was not a JSON object (the firmware used its defaults)");
      }
      let next: ConfigObject = current ?? {};
      if (fileConfig !== undefined) next = mergeConfig(next, fileConfig);
      if (wifi !== undefined) next = mergeConfig(next, { wifi });
      if (formats?.inputs !== undefined) next = mergeConfig(next, { inputs: formats.inputs });
      if (formats?.outputs !== undefined) next = mergeConfig(next, { outputs: formats.outputs });
      let bytes: number | undefined;
      if (changing) {
        try {
          assertValidConfig(next, "the new syfala.json");
        } catch (e) {
          if (e instanceof ConfigError) throw new ConfigError(`${e.message}; nothing written`);
          throw e;
        }
        const out = configText(next);
        await con.writeFile("syfala.json", out);
        bytes = out.length;
      }
      let restarted: { line: string; how: "load" | "handlers" } | undefined;
      if (doRestart) {
        restarted = await restart(link, con);
        if (restarted.how === "handlers" && wifi !== undefined) {
          notes.push(
            "the firmware restarted in RAM and keeps its Wi-Fi connection: the new network is used at the next reset",
          );
        }
      }
      if (json) {
        io.out(
          JSON.stringify({
            port: name,
            config: withoutPassword(next),
            formats: formatFormatsSpec(next),
            written: bytes !== undefined,
            bytes: bytes ?? 0,
            restarted: restarted?.line ?? null,
            notes,
          }),
        );
        return EXIT.OK;
      }
      io.out(`syfala.json on ${name}: ${configSummary(next)}`);
      if (show) {
        for (const l of JSON.stringify(withoutPassword(next), null, 2).split("\n")) io.out(l);
      }
      if (bytes !== undefined) {
        io.out(
          restarted === undefined
            ? `written (${bytes} bytes); the firmware reads it when it starts: reset the board, type load() in 'syfala monitor', or use --restart`
            : `written (${bytes} bytes)`,
        );
      }
      if (restarted !== undefined) {
        io.out(
          `restarted (${restarted.how === "load" ? "load()" : "stop and start handlers"}): ${restarted.line}`,
        );
      }
      for (const n of notes) io.out(`note: ${n}`);
      return EXIT.OK;
    } finally {
      await link.close();
    }
  });
}
