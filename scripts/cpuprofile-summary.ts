/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof` or the inspector's Profiler.stop) by
 * category of code, for the emulator's loopback profile (scripts/profile-loopback.ts):
 *
 * - self time per category: the sampled leaf frame's category; a native frame without a script
 *   (a binding, a builtin) takes its caller's category, so a syscall made by node:dgram counts as
 *   node UDP (a native `send` always does: its callers are often inlined away);
 * - inclusive time per category: every sample whose stack holds a frame of that category;
 * - the top functions by self time (and, for the firmware, by inclusive time).
 *
 * Categories: gc, idle, program (V8/libuv time not attributed to JavaScript), node-udp
 * (node:dgram, node:internal/dgram...), node-loop (node's timers, setImmediate, nextTick, the
 * IPC channel), node-other, emu-convert (binary string <-> bytes: binaryString, stringBytes,
 * E.toString/E.toArrayBuffer), emu-shim (the rest of host/emulator/dgram.ts, lan.ts, context.ts,
 * builtins.ts and the realm prelude: emit, host-function wrappers), emu-loop
 * (host/emulator/loop.ts), emu-other (other host/emulator files), firmware (the firmware file run
 * in the vm, "emu:..."), client (the client side: shared/, host/, test/support/), other.
 *
 * CLI: `npx tsx scripts/cpuprofile-summary.ts FILE.cpuprofile [PACKETS]` prints the tables (in
 * microseconds per packet when PACKETS is given).
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** One node of a V8 CPU profile. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

/** A V8 CPU profile (the `.cpuprofile` JSON). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const CATEGORIES = [
  "node-udp",
  "node-loop",
  "node-other",
  "emu-convert",
  "emu-shim",
  "emu-loop",
  "emu-other",
  "firmware",
  "client",
  "other",
  "gc",
  "program",
  "idle",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Functions of the emulator that convert between binary strings and bytes. */
const CONVERT = new Set([
  "binaryString",
  "stringBytes",
  "collectBytes",
  "toBytes",
  "toString",
  "toArrayBuffer",
  "toUint8Array",
  "bytes",
  "arrayBuffer",
  "writeBinaryString",
]);

/** The category of a frame from its script alone; undefined for a native frame (no script). */
function ownCategory(fn: string, url: string): Category | undefined {
  if (fn === "(garbage collector)") return "gc";
  if (fn === "(idle)") return "idle";
  if (fn === "(program)") return "program";
  if (fn === "(root)") return "other";
  // UDPWrap's native send (its JavaScript callers are often inlined into the tick queue).
  if (url === "" && fn === "send") return "node-udp";
  if (url === "") return undefined;
  if (url.startsWith("emu:")) return "firmware";
  if (url.startsWith("evalmachine")) return "emu-shim";
  if (url.startsWith("node:")) {
    if (/dgram|udp/.test(url)) return "node-udp";
    if (/timers|task_queues|process\/|child_process|serialization|event_target|events/.test(url))
      return "node-loop";
    return "node-other";
  }
  if (url.includes("/host/emulator/")) {
    if (CONVERT.has(fn)) return "emu-convert";
    if (url.endsWith("/loop.ts")) return "emu-loop";
    if (/\/(dgram|lan|context|builtins|intrinsics)\.ts$/.test(url)) return "emu-shim";
    return "emu-other";
  }
  if (/\/(shared|host|test\/support|firmware)\//.test(url)) return "client";
  return "other";
}

/** The summary of one profile; times in microseconds. */
export interface Summary {
  /** Profiled wall time. */
  totalUs: number;
  self: Record<Category, number>;
  inclusive: Record<Category, number>;
  /** Self time by function ("name file:line"), largest first. */
  topSelf: { name: string; category: Category; us: number }[];
  /** Firmware functions by inclusive time, largest first. */
  firmwareInclusive: { name: string; us: number }[];
}

function zero(): Record<Category, number> {
  const r = {} as Record<Category, number>;
  for (const c of CATEGORIES) r[c] = 0;
  return r;
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf("/");
  return i >= 0 ? url.slice(i + 1) : url;
}

/** Aggregates `p` (see the file comment). */
export function summarise(p: CpuProfile): Summary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Category of each node: its own, else (native frames) its nearest caller's.
  const cat = new Map<number, Category>();
  const catOf = (id: number): Category => {
    const known = cat.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id);
    let c: Category = "other";
    if (n !== undefined) {
      const own = ownCategory(n.callFrame.functionName, n.callFrame.url);
      if (own !== undefined) c = own;
      else {
        const up = parent.get(id);
        c = up === undefined ? "other" : catOf(up);
      }
    }
    cat.set(id, c);
    return c;
  };
  const label = (n: ProfileNode): string =>
    `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

  // Duration of sample i: the delta to the next sample (the last one gets the mean).
  const deltas = p.timeDeltas;
  const mean = deltas.length > 0 ? (p.endTime - p.startTime) / deltas.length : 0;
  const self = zero();
  const inclusive = zero();
  const selfByFn = new Map<string, { category: Category; us: number }>();
  const fwIncl = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const dt = i + 1 < deltas.length ? (deltas[i + 1] as number) : mean;
    const node = byId.get(id);
    if (node === undefined) continue;
    const c = catOf(id);
    self[c] += dt;
    const key = label(node);
    const e = selfByFn.get(key);
    if (e === undefined) selfByFn.set(key, { category: c, us: dt });
    else e.us += dt;
    const cats = new Set<Category>();
    const fws = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      cats.add(catOf(at));
      const n = byId.get(at);
      if (n?.callFrame.url.startsWith("emu:")) fws.add(label(n));
    }
    for (const x of cats) inclusive[x] += dt;
    for (const f of fws) fwIncl.set(f, (fwIncl.get(f) ?? 0) + dt);
  }
  return {
    totalUs: p.endTime - p.startTime,
    self,
    inclusive,
    topSelf: [...selfByFn.entries()]
      .map(([name, v]) => ({ name, category: v.category, us: v.us }))
      .sort((a, b) => b.us - a.us),
    firmwareInclusive: [...fwIncl.entries()].map(([name, us]) => ({ name, us })).sort((a, b) => b.us - a.us),
  };
}

function isProfile(v: unknown): v is CpuProfile {
  return (
    typeof v === "object" &&
    v !== null &&
    "nodes" in v &&
    Array.isArray(v.nodes) &&
    "samples" in v &&
    Array.isArray(v.samples) &&
    "timeDeltas" in v &&
    Array.isArray(v.timeDeltas)
  );
}

/** Reads a `.cpuprofile` file. */
export function readProfile(path: string): CpuProfile {
  const v: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!isProfile(v)) throw new Error(`${path}: not a V8 CPU profile`);
  return v;
}

/** The summary as text; per packet (us/packet) when `packets` > 0, else in ms. */
export function formatSummary(s: Summary, packets: number, top = 15): string {
  const per = (us: number): string => (packets > 0 ? (us / packets).toFixed(2) : (us / 1000).toFixed(1));
  const unit = packets > 0 ? "us/packet" : "ms";
  const lines: string[] = [];
  lines.push(`profiled ${(s.totalUs / 1e6).toFixed(2)} s${packets > 0 ? `, ${packets} packets` : ""}`);
  lines.push(
    `${"category".padEnd(12)} ${`self ${unit}`.padStart(16)} ${"self %".padStart(7)} ${`incl ${unit}`.padStart(16)}`,
  );
  for (const c of CATEGORIES) {
    if (s.self[c] === 0 && s.inclusive[c] === 0) continue;
    lines.push(
      `${c.padEnd(12)} ${per(s.self[c]).padStart(16)} ${((100 * s.self[c]) / s.totalUs).toFixed(1).padStart(7)} ${per(s.inclusive[c]).padStart(16)}`,
    );
  }
  lines.push(`top functions by self time (${unit}):`);
  for (const f of s.topSelf.slice(0, top))
    lines.push(`  ${per(f.us).padStart(8)}  ${f.category.padEnd(11)} ${f.name}`);
  if (s.firmwareInclusive.length > 0) {
    lines.push(`firmware functions by inclusive time (${unit}):`);
    for (const f of s.firmwareInclusive.slice(0, top)) lines.push(`  ${per(f.us).padStart(8)}  ${f.name}`);
  }
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error("usage: npx tsx scripts/cpuprofile-summary.ts FILE.cpuprofile [PACKETS]");
    process.exit(2);
  }
  console.log(formatSummary(summarise(readProfile(file)), Number(process.argv[3] ?? 0)));
}
