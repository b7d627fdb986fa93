/**
 * `syfala wire decode|encode`: the wire codecs on the command line, for looking at captured
 * datagrams and for producing test traffic. Output is one JSON line per input with the canonical
 * JSON embedded as a value.
 */

import type { Side } from "../../shared/message.js";
import { type CodecName, describeFailure, detectCodec, encodeToBytes } from "../../shared/wire/codec.js";
import { messageFromJson, messageToJson } from "../../shared/wire/json.js";
import { hostCodec } from "../wire/codecs.js";
import { oneOf, parse } from "./args.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage:
  syfala wire decode --side client|server [--codec postcard|msgpack|auto] HEX...
  syfala wire decode --side client|server [--codec ...] --stdin
  syfala wire encode --side client|server [--codec postcard|msgpack] JSON...

decode prints one JSON line per datagram:
  {"ok":true,"json":<canonical JSON>,"consumed":N,"remaining":M}
  {"ok":false,"error":"truncated"|"invalid","offset":N,"message":"..."}
--side names the SENDER (client = a client-to-server datagram). For decode, --codec auto (the
default) picks the codec from the first byte; encode defaults to postcard, the default codec. --stdin reads one hex string per line (an empty line is
the empty datagram). encode prints lowercase hex; u64 values above 2^53 are kept exact.
Exit codes: 0 when every input got its line, 2 on bad arguments or input.`;

const SIDES = ["client", "server"] as const;

/** Hex text to bytes; spaces, colons and a leading 0x are allowed. Throws UsageError. */
export function parseHex(text: string, what: string): Uint8Array {
  let t = text.replace(/[\s:]/g, "");
  if (t.startsWith("0x") || t.startsWith("0X")) t = t.slice(2);
  if (t.length % 2 !== 0) throw new UsageError(`${what} is not hex: odd number of digits`);
  if (!/^[0-9a-fA-F]*$/.test(t)) throw new UsageError(`${what} is not hex: '${text}'`);
  return new Uint8Array(Buffer.from(t, "hex"));
}

/** One decode result line. */
export function decodeLine(bytes: Uint8Array, side: Side, codec: CodecName | "auto"): string {
  const name = codec === "auto" ? detectCodec(bytes, 0) : codec;
  const c = hostCodec(name);
  const r = side === "client" ? c.client.decode(bytes, 0) : c.server.decode(bytes, 0);
  if (!r.ok) {
    return `{"ok":false,"error":"${r.error}","offset":${r.offset},"message":${JSON.stringify(describeFailure(r))}}`;
  }
  return `{"ok":true,"json":${messageToJson(r.message, side)},"consumed":${r.end},"remaining":${bytes.length - r.end}}`;
}

async function decode(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    side: { type: "string" },
    codec: { type: "string" },
    stdin: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (values.side === undefined) throw new UsageError("--side client|server is required");
  const side = oneOf("side", values.side, SIDES, "client");
  const codec = oneOf("codec", values.codec, ["postcard", "msgpack", "auto"] as const, "auto");
  if (values.stdin && positionals.length > 0) throw new UsageError("give HEX arguments or --stdin, not both");
  if (!values.stdin && positionals.length === 0)
    throw new UsageError("nothing to decode: give HEX arguments or --stdin");
  if (values.stdin) {
    let n = 0;
    for await (const line of io.stdinLines()) {
      n++;
      io.out(decodeLine(parseHex(line, `line ${n}`), side, codec));
    }
  } else {
    positionals.forEach((hex, i) => {
      io.out(decodeLine(parseHex(hex, `argument ${i + 1}`), side, codec));
    });
  }
  return EXIT.OK;
}

async function encode(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    side: { type: "string" },
    codec: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (values.side === undefined) throw new UsageError("--side client|server is required");
  const side = oneOf("side", values.side, SIDES, "client");
  const codec = hostCodec(oneOf("codec", values.codec, ["postcard", "msgpack"] as const, "postcard"));
  if (positionals.length === 0) throw new UsageError("nothing to encode: give a JSON message");
  const lines = positionals.map((text, i) => {
    const what = `argument ${i + 1} is not a ${side} message`;
    if (side === "client") {
      const m = messageFromJson(text, "client");
      if (!m.ok) throw new UsageError(`${what}: ${m.reason}`);
      return Buffer.from(encodeToBytes(codec.client, m.message)).toString("hex");
    }
    const m = messageFromJson(text, "server");
    if (!m.ok) throw new UsageError(`${what}: ${m.reason}`);
    return Buffer.from(encodeToBytes(codec.server, m.message)).toString("hex");
  });
  for (const l of lines) io.out(l);
  return EXIT.OK;
}

/** `syfala wire ...` */
export async function wireCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "decode") return decode(rest, io);
  if (sub === "encode") return encode(rest, io);
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.out(HELP);
    return sub === undefined ? EXIT.USAGE : EXIT.OK;
  }
  throw new UsageError(`unknown subcommand '${sub}' (decode or encode)`);
}
