/**
 * What the parts of `make stress` (scripts/stress.ts) and `make soak` share: environment knobs,
 * output, emulated boards running the real firmware with their status lines parsed, host heap.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Lan, type LogEntry, startBoards } from "../host/emulator/index.js";

export const ROOT = new URL("..", import.meta.url).pathname;
export const FIRMWARE = join(ROOT, "build/firmware/syfala.js");
const WIFI = { ssid: "lab", password: "secret" };

export const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`${name} must be an integer >= 0, got '${v}'`);
  return n;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One part's outcome. */
export interface PartResult {
  readonly ok: boolean;
  readonly problems: string[];
}

export function say(part: string, line: string): void {
  process.stdout.write(`[${part}] ${line}\n`);
}

/** The last status line of the firmware: clients, streaming, free/total JsVar blocks. */
export interface BoardStatus {
  /** When the line was logged (Date.now(), ms). */
  at: number;
  clients: number;
  streaming: number;
  free: number;
  total: number;
}

/** Boards with the real firmware and a status line every `statusEveryMs`, whose last status is kept. */
export async function boards(
  port: number,
  limits: { maxClients: number; maxStreamingClients: number },
  statusEveryMs: number,
  streams?: { inputs: object[]; outputs: object[] },
): Promise<{ lan: Lan; status: () => BoardStatus | undefined }> {
  let last: BoardStatus | undefined;
  const lan = await startBoards({
    count: 1,
    firmwarePath: FIRMWARE,
    port,
    config: {
      wifi: WIFI,
      statusEveryMs,
      maxClients: limits.maxClients,
      maxStreamingClients: limits.maxStreamingClients,
      inputs: streams?.inputs ?? [{ source: "pattern" }],
      outputs: streams?.outputs ?? [{ sink: "discard" }],
    },
    wifiTiming: { connectDelayMs: 10, retryMs: 20 },
    onLog: (e: LogEntry) => {
      const m = /syfala: clients (\d+) streaming (\d+) .*free (\d+)\/(\d+)/.exec(e.text);
      if (m !== null) {
        last = {
          at: Date.now(),
          clients: Number(m[1]),
          streaming: Number(m[2]),
          free: Number(m[3]),
          total: Number(m[4]),
        };
      }
    },
  });
  const end = Date.now() + 10000;
  while (!lan.boards.every((b) => b.online)) {
    if (Date.now() > end) throw new Error("the board did not come online");
    await sleep(5);
  }
  return { lan, status: () => last };
}

/** Waits (bounded) for a status line satisfying `cond`. */
export async function waitStatus(
  status: () => BoardStatus | undefined,
  cond: (s: BoardStatus) => boolean,
  maxMs: number,
): Promise<BoardStatus | undefined> {
  const end = Date.now() + maxMs;
  for (;;) {
    const s = status();
    if (s !== undefined && cond(s)) return s;
    if (Date.now() > end) return s;
    await sleep(50);
  }
}

export function heapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
  return process.memoryUsage().heapUsed / 1048576;
}

/**
 * Datagrams the kernel dropped at the UDP socket bound to 127.0.0.1:`port` (its receive buffer
 * was full), from /proc/net/udp; undefined where that file does not exist.
 */
export function kernelDrops(port: number): number | undefined {
  if (!existsSync("/proc/net/udp")) return undefined;
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) return Number(f[f.length - 1]);
  }
  return undefined;
}
