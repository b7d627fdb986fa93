/**
 * `syfala netem`: the UDP impairment proxy of host/netem/proxy.ts from the command line, to put
 * between a real board and a client; prints its counters at exit (Ctrl-C or --duration).
 */

import { isIPv4 } from "node:net";
import { type Netem, type NetemStats, startNetem } from "../netem/proxy.js";
import { type ImpairmentProfile, WIFI_LIKE } from "../transport/impair.js";
import { parse } from "./args.js";
import { durationOption } from "./session.js";
import { EXIT, type Io, UsageError } from "./usage.js";

const HELP = `usage: syfala netem --listen HOST:PORT --target HOST:PORT [--loss P] [--burst p,r,lossInBad]
                   [--duplicate P] [--reorder P] [--delay MS] [--jitter MS] [--keep-order] [--wifi-tail]
                   [--rate PKT/S] [--seed N] [--duration 10s] [--json]

A UDP impairment proxy: clients send to --listen, datagrams go on to --target and the answers
come back, both directions through the same seeded faults. Each client address gets its own
upstream socket (a small NAT table, 16 clients). The proxy only sends to the target and to the
clients that sent to it.
  --loss P           independent loss probability (0..1)
  --burst p,r,l      Gilbert-Elliott bursts: p good->bad, r bad->good, l loss while bad
  --duplicate P      duplication probability
  --reorder P        probability that a datagram is held back behind the next one
  --delay MS         fixed delay; --jitter MS: uniform extra delay in [0, MS)
  --keep-order       delays keep the datagrams' order (one FIFO link); without it, jitter larger
                     than the spacing of datagrams reorders them, as Linux netem's does
  --wifi-tail        a Wi-Fi-like profile (jitter, rare heavy-tailed stalls up to 250 ms, 0.2 % loss);
                     the other options override its fields
  --rate PKT/S       token-bucket limit per direction (packets per second, 100 ms burst)
  --seed N           seed of every random decision (default 1)
  --duration D       stop after D ("10s", "500ms" or seconds); default: until Ctrl-C
  --json             print the counters as one JSON object at exit
Exit codes: 0 stopped by --duration, 130 interrupted, 1 the socket failed, 2 bad arguments.`;

function endpointOption(option: string, value: string | undefined): { address: string; port: number } {
  if (value === undefined) throw new UsageError(`--${option} HOST:PORT is required`);
  const m = /^([^:\s]+):(\d{1,5})$/.exec(value);
  const port = m?.[2] === undefined ? Number.NaN : Number(m[2]);
  if (m === null || m[1] === undefined || !isIPv4(m[1]) || !(port >= 0 && port <= 65535)) {
    throw new UsageError(`--${option} must be IPV4:PORT, got '${value}'`);
  }
  if (option === "target" && port === 0) throw new UsageError("--target port must be from 1 to 65535");
  return { address: m[1], port };
}

function probability(option: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1)) {
    throw new UsageError(`--${option} must be a probability from 0 to 1, got '${value}'`);
  }
  return n;
}

function nonNegative(option: string, value: string, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= max)) {
    throw new UsageError(`--${option} must be a number from 0 to ${max}, got '${value}'`);
  }
  return n;
}

/** The counters as text lines. */
export function describeNetemStats(s: NetemStats): string[] {
  const line = (name: string, d: NetemStats["upstream"]): string => {
    const i = d.impairment;
    return (
      `${name}: received ${d.received}, rate-limited ${d.rateLimited}, lost ${i.dropped} ` +
      `(${i.droppedInBurst} in bursts), duplicated ${i.duplicated}, reordered ${i.reordered}, ` +
      `delayed ${i.delayed}, overflowed ${i.overflowed}, delivered ${i.delivered}`
    );
  };
  return [
    line("client->target", s.upstream),
    line("target->client", s.downstream),
    `clients ${s.clients} (evicted ${s.evicted}), foreign ${s.foreign}, queue-full ${s.pending}, errors ${s.errors}`,
  ];
}

/** `syfala netem`. */
export async function netemCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    listen: { type: "string" },
    target: { type: "string" },
    loss: { type: "string" },
    burst: { type: "string" },
    duplicate: { type: "string" },
    reorder: { type: "string" },
    delay: { type: "string" },
    jitter: { type: "string" },
    "keep-order": { type: "boolean" },
    "wifi-tail": { type: "boolean" },
    rate: { type: "string" },
    seed: { type: "string" },
    duration: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const listen = endpointOption("listen", values.listen);
  const target = endpointOption("target", values.target);
  const profile: Partial<ImpairmentProfile> = values["wifi-tail"] === true ? { ...WIFI_LIKE } : {};
  if (values.loss !== undefined) profile.loss = probability("loss", values.loss);
  if (values.burst !== undefined) {
    const parts = values.burst.split(",");
    if (parts.length !== 3) throw new UsageError(`--burst must be p,r,lossInBad, got '${values.burst}'`);
    profile.burstStart = probability("burst", parts[0] ?? "");
    profile.burstEnd = probability("burst", parts[1] ?? "");
    profile.burstLoss = probability("burst", parts[2] ?? "");
  }
  if (values.duplicate !== undefined) profile.duplicate = probability("duplicate", values.duplicate);
  if (values.reorder !== undefined) profile.reorder = probability("reorder", values.reorder);
  if (values.delay !== undefined) profile.delayMs = nonNegative("delay", values.delay, 60000);
  if (values.jitter !== undefined) profile.jitterMs = nonNegative("jitter", values.jitter, 60000);
  if (values["keep-order"] === true) profile.keepOrder = true;
  const rate = values.rate === undefined ? 0 : nonNegative("rate", values.rate, 1e7);
  let seed = 1;
  if (values.seed !== undefined) {
    if (!/^\d{1,10}$/.test(values.seed))
      throw new UsageError(`--seed must be an integer >= 0, got '${values.seed}'`);
    seed = Number(values.seed);
  }
  const durationMs =
    values.duration === undefined ? undefined : durationOption("duration", values.duration, 0);
  const json = values.json === true;

  let proxy: Netem;
  try {
    proxy = await startNetem({ listen, target, profile, ratePerSecond: rate, seed });
  } catch (e) {
    io.err(`syfala netem: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.FAILED;
  }
  if (!json) {
    io.out(
      `netem: ${proxy.listen.address}:${proxy.listen.port} -> ${target.address}:${target.port} (seed ${seed})`,
    );
  }
  const code = await new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onInt = (): void => done(EXIT.INTERRUPTED);
    const onTerm = (): void => done(128 + 15);
    const done = (c: number): void => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      if (timer !== undefined) clearTimeout(timer);
      resolve(c);
    };
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    if (durationMs !== undefined) timer = setTimeout(() => done(EXIT.OK), durationMs);
  });
  const stats = proxy.stats();
  proxy.close();
  if (json) io.out(JSON.stringify(stats));
  else for (const l of describeNetemStats(stats)) io.out(l);
  return code;
}
