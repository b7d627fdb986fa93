/**
 * `syfala discover`: Discovery to a broadcast address (or a known server) for a while, then a
 * table of the servers that answered, with their streams in words.
 */

import { isIPv4 } from "node:net";
import { DEFAULT_SERVER_PORT } from "../../shared/endpoint/constants.js";
import { describeFormats } from "../client/describe.js";
import { discover } from "../client/discover.js";
import { toJson } from "../client/report.js";
import { formatDuration } from "../duration-text.js";
import { parse } from "./args.js";
import { durationOption } from "./session.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala discover [--broadcast ADDR] [--port 6910] [--timeout 2s] [--json]

Sends Discovery to ADDR:PORT every 250 ms for --timeout (default 2s; "2s", "500ms" or seconds)
and lists the servers that answered: address:port and their streams in words, e.g.
"in 0: I16 16000 Hz x1, 256-frame packets". Offers are declined ("not now"), so nothing is
connected. ADDR defaults to 255.255.255.255 (the local network); it may also be a subnet's
broadcast address or one server's address. Emulated boards (syfala emulate) answer on
127.255.255.255. --json prints {"servers":[{address, port, codec, formats}]}.
Exit codes: 0 servers found, 1 none answered, 2 bad arguments.`;

/** `syfala discover`. */
export async function discoverCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    broadcast: { type: "string" },
    port: { type: "string" },
    timeout: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const address = values.broadcast ?? "255.255.255.255";
  if (!isIPv4(address)) throw new UsageError(`--broadcast must be an IPv4 address, got '${address}'`);
  let port = DEFAULT_SERVER_PORT;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d{1,5}$/.test(values.port) || port < 1 || port > 65535) {
      throw new UsageError(`--port must be an integer from 1 to 65535, got '${values.port}'`);
    }
  }
  const timeoutMs = durationOption("timeout", values.timeout, 2000);
  const json = values.json === true;

  let servers: Awaited<ReturnType<typeof discover>>;
  try {
    servers = await discover({ targets: [{ address, port }], timeoutMs });
  } catch (e) {
    io.err(`syfala discover: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.FAILED;
  }
  if (json) {
    io.out(toJson({ servers }));
  } else if (servers.length > 0) {
    const width = Math.max(6, ...servers.map((s) => `${s.address}:${s.port}`.length)) + 2;
    io.out(`${"SERVER".padEnd(width)}STREAMS`);
    for (const s of servers) {
      describeFormats(s.formats).forEach((line, i) => {
        io.out(`${(i === 0 ? `${s.address}:${s.port}` : "").padEnd(width)}${line}`);
      });
    }
    io.out(`${servers.length} server${servers.length === 1 ? "" : "s"}`);
  }
  if (servers.length === 0) {
    io.err(`syfala discover: no server answered on ${address}:${port} within ${formatDuration(timeoutMs)}`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}
