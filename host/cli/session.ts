/**
 * `syfala session SERVER[:PORT]`: connect to one server, start IO, stream both ways for a
 * while, stop, disconnect, and report (host/client/session.ts does the work). Ctrl-C (or
 * SIGTERM) at any time finishes the recordings at once, sends Stop and Disconnect, prints what
 * was done and exits 130 (143).
 */

import { lookup } from "node:dns/promises";
import { existsSync, statSync } from "node:fs";
import { isIPv4 } from "node:net";
import { dirname } from "node:path";
import { DEFAULT_SERVER_PORT } from "../../shared/endpoint/constants.js";
import { DEFAULT_MIN_DELIVERED_PERCENT } from "../client/delivery.js";
import { parseDuration } from "../client/describe.js";
import { DEFAULT_TARGET_LATENCY_MS } from "../client/jitter.js";
import { reportLines, statusLine, toJson } from "../client/report.js";
import { runSession, type Session, type SessionOptions } from "../client/session.js";
import type { SourceSpec } from "../client/sources.js";
import { readWav } from "../media/wav.js";
import { oneOf, parse } from "./args.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala session SERVER[:PORT] [--duration 10s] [--record FILE.wav]
                      [--play FILE.wav | --tone HZ | --pattern] [--latency-ms 20]
                      [--codec postcard|msgpack] [--check-loopback] [--expect-pattern]
                      [--min-delivered 90] [--timeout 3s] [--json]

Connects to the server at SERVER (IPv4 address or host name; PORT defaults to 6910), starts IO,
streams for --duration (default 10s; "10s", "500ms", "2m" or seconds; 0 or "forever": until
Ctrl-C), stops IO, disconnects and
prints a report: per input stream packets, bytes, lost bytes and %, reordered/duplicates, late
bytes and underruns of the playout model (target latency --latency-ms, default 20), RFC 3550
jitter; per output stream what was sent; round-trip times (Start/Stop replies, loopback audio).

  --record FILE.wav   record input stream 0 to FILE.wav (input i > 0 to FILE.in<i>.wav), aligned
                      by byte index: frame n of the file is frame n of the stream, lost frames
                      are silence
  --play FILE.wav     send the file on every output stream (then silence); its rate, channels
                      and sample type must be the stream's
  --tone HZ           send a sine of HZ at half scale on every output stream
  --pattern           send the test pattern: byte k of output s is (k*31 + s*7) & 0xff
                      (default: silence; with --check-loopback: a 997 Hz tone)
  --check-loopback    for a server in loopback: what comes back on input i must equal what was
                      sent on output i at the same byte indices (lost bytes are not compared);
                      exit 1 if not. A server whose input i is itself the test pattern sends the
                      same bytes as --pattern does: check with a tone or a file to tell them apart
  --expect-pattern    for a server whose inputs send the test pattern (source "pattern"): every
                      byte received on input s must be (k*31 + s*7) & 0xff at its index k, and
                      the bytes padded for losses are counted; exit 1 on a mismatch
  --min-delivered P   fail (exit 1) when an input stream delivered less than P % of the bytes
                      due over the IO time (less the playout latency and one packet), counting
                      lost bytes (the server's skips among them) and bytes later than
                      --latency-ms as not delivered (default 90; 0: no check)
  --codec             the codec to speak (default postcard)
  --timeout           how long to wait for the server's answer (default 3s)
  --json              print the report as one JSON object

Formats are only known once the server answers: a request they cannot satisfy (a WAV file of
another format, a stream a WAV cannot hold) refuses the connection and fails before any audio.
A live status line is shown on a terminal. Exit codes: 0 done, 1 failed (no answer, refused,
connection lost, loopback or content mismatch, too little delivered), 2 bad arguments, 130 interrupted (Ctrl-C), 143 SIGTERM.`;

const CODECS = ["postcard", "msgpack"] as const;

/** The default source of a loopback check: a tone no server pattern or table tone produces. */
const CHECK_TONE: SourceSpec = { kind: "tone", hz: 997, amplitude: 0.5 };

/** Parses "--option" durations, naming the option when malformed. */
export function durationOption(option: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined || !(ms > 0)) {
    throw new UsageError(`--${option} must be a duration like 10s, 500ms or 2 (seconds), got '${value}'`);
  }
  return ms;
}

function numberOption(
  option: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${option} must be a number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** Splits "HOST[:PORT]"; the host is checked later (IPv4 literal or a name to resolve). */
export function parseServer(text: string, defaultPort: number): { host: string; port: number } {
  const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (m === null || m[1] === undefined || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`SERVER must be HOST or HOST:PORT with a port from 1 to 65535, got '${text}'`);
  }
  return { host: m[1], port };
}

function sourceOf(values: { play?: string; tone?: string; pattern?: boolean }, check: boolean): SourceSpec {
  const given = [values.play !== undefined, values.tone !== undefined, values.pattern === true].filter(
    Boolean,
  );
  if (given.length > 1) throw new UsageError("--play, --tone and --pattern exclude each other: give one");
  if (values.play !== undefined) {
    const path = values.play;
    if (!existsSync(path)) throw new UsageError(`--play ${path}: no such file`);
    try {
      const wav = readWav(path);
      return { kind: "wav", path, data: wav.data, format: wav.format };
    } catch (e) {
      throw new UsageError(`--play ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (values.tone !== undefined) {
    return { kind: "tone", hz: numberOption("tone", values.tone, 440, 0.001, 1e6), amplitude: 0.5 };
  }
  if (values.pattern === true) return { kind: "pattern" };
  return check ? CHECK_TONE : { kind: "silence" };
}

function checkRecordPath(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`--record ${path}: directory ${dir} does not exist`);
  }
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UsageError(`--record ${path}: is a directory`);
}

/** Resolves a host name to an IPv4 address (a literal is returned as it is); undefined when it cannot. */
async function resolveHost(host: string): Promise<string | undefined> {
  if (isIPv4(host)) return host;
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return undefined;
  }
}

/** `syfala session`. */
export async function sessionCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    duration: { type: "string" },
    record: { type: "string" },
    play: { type: "string" },
    tone: { type: "string" },
    pattern: { type: "boolean" },
    "latency-ms": { type: "string" },
    "min-delivered": { type: "string" },
    codec: { type: "string" },
    "check-loopback": { type: "boolean" },
    "expect-pattern": { type: "boolean" },
    timeout: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (positionals.length === 0) throw new UsageError("missing SERVER (try 'syfala session --help')");
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const server = parseServer(positionals[0] as string, DEFAULT_SERVER_PORT);
  // 0 or "forever": until Ctrl-C
  const forever =
    values.duration === "forever" || (values.duration !== undefined && parseDuration(values.duration) === 0);
  const durationMs = forever ? Infinity : durationOption("duration", values.duration, 10000);
  const timeoutMs = durationOption("timeout", values.timeout, 3000);
  const latencyMs = numberOption("latency-ms", values["latency-ms"], DEFAULT_TARGET_LATENCY_MS, 1, 10000);
  const minDelivered = numberOption(
    "min-delivered",
    values["min-delivered"],
    DEFAULT_MIN_DELIVERED_PERCENT,
    0,
    100,
  );
  const codec = oneOf("codec", values.codec, CODECS, "postcard");
  const check = values["check-loopback"] === true;
  const json = values.json === true;
  if (values.record !== undefined) checkRecordPath(values.record);
  const source = sourceOf(values, check);

  const address = await resolveHost(server.host);
  if (address === undefined) {
    io.err(`syfala session: cannot resolve host '${server.host}'`);
    return EXIT.FAILED;
  }
  const options: SessionOptions = {
    address,
    port: server.port,
    codec,
    source,
    latencyMs,
    minDeliveredPercent: minDelivered,
    checkLoopback: check,
    ...(values["expect-pattern"] === true ? { expect: { kind: "pattern" } } : {}),
    ...(values.record === undefined ? {} : { record: values.record }),
  };

  const tty = process.stderr.isTTY === true && !json;
  const controller = new AbortController();
  let signalCode: number = EXIT.INTERRUPTED;
  let session: Session | undefined;
  const onSignal = (code: number) => (): void => {
    if (controller.signal.aborted) return;
    signalCode = code;
    // Files first, synchronously: whatever happens next, they are valid.
    session?.finishRecordings();
    controller.abort();
  };
  const onInt = onSignal(EXIT.INTERRUPTED);
  const onTerm = onSignal(128 + 15);
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  let result: Awaited<ReturnType<typeof runSession>>;
  try {
    result = await runSession(options, {
      durationMs,
      connectTimeoutMs: timeoutMs,
      signal: controller.signal,
      onOpen: (s) => {
        session = s;
      },
      ...(tty ? { onStatus: (s) => process.stderr.write(`\r${statusLine(s, durationMs)}\x1b[K`) } : {}),
    });
  } catch (e) {
    io.err(`syfala session: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.FAILED;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    if (tty) process.stderr.write("\r\x1b[K");
  }

  const { report, failure, interrupted, loopbackProblems, contentProblems, deliveryProblems } = result;
  const connected = report.formats !== undefined && failure?.kind !== "refused";
  let error: string | undefined;
  if (interrupted) error = undefined;
  else if (failure !== undefined) error = failure.message;
  else if (loopbackProblems.length > 0) error = `loopback check failed: ${loopbackProblems.join("; ")}`;
  else if (contentProblems.length > 0) error = `content check failed: ${contentProblems.join("; ")}`;
  else if (deliveryProblems.length > 0) error = `too little delivered: ${deliveryProblems.join("; ")}`;

  if (json) {
    io.out(
      toJson({
        ok: error === undefined && !interrupted,
        interrupted,
        error: error ?? null,
        ...report,
      }),
    );
  } else if (connected) {
    for (const l of reportLines(report, check)) io.out(l);
    if (interrupted) io.out("interrupted: IO stopped, disconnected, recordings finished");
  }
  if (error !== undefined) io.err(`syfala session: ${error}`);
  if (interrupted) return signalCode;
  return error === undefined ? EXIT.OK : EXIT.FAILED;
}
