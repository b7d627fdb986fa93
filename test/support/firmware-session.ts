/**
 * What a full session with a board running the firmware checks, whichever engine runs it (the vm
 * emulator or the real Espruino interpreter): the project's client engine (engine-driver.ts)
 * discovers by broadcast, sends loopback packets whose bytes are distinct per board and per byte
 * index, keeps what comes back by byte index, and checks the pattern input byte by byte at its
 * index as it arrives. The expected bytes are computed here, never by the code under test.
 */
import type { AudioEvent } from "../../shared/endpoint/events.js";
import { type U64, u64, u64ToNumber } from "../../shared/u64.js";
import { expectedPattern } from "./client-boards.js";
import type { EngineDriver } from "./engine-driver.js";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` holds (checked every 10 ms); rejects naming `what` after `maxMs`. */
export async function until(cond: () => boolean, maxMs: number, what: string): Promise<void> {
  const end = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${maxMs} ms`);
    await sleep(10);
  }
}

/** What the client sends on the loopback stream of the board numbered `b`: distinct per board and per byte index. */
export function loopByte(b: number, k: number): number {
  return (k * 13 + (k >> 7) * 5 + b * 71) & 0xff;
}

/** The `count` bytes board `b`'s loopback stream carries from byte index `at`. */
export function loopBytes(b: number, at: number, count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, j) => loopByte(b, at + j));
}

/** What a client saw of one board's audio. */
export interface Seen {
  /** Loopback packets (input `loopStream`) by byte index: the payload copied. */
  loop: Map<number, Uint8Array>;
  patternBytes: number;
  patternMismatches: number;
  /** The first mismatch, for the failure message. */
  firstMismatch: string;
}

/**
 * Records audio by peer: input `loopStream` (default 0) kept by byte index, input `patternStream`
 * (default 1) checked at once against the firmware's pattern of that stream.
 */
export function recordAudio(d: EngineDriver, loopStream = 0, patternStream = 1): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  d.onAudio = (e: AudioEvent) => {
    let s = seen.get(e.peer);
    if (s === undefined) {
      s = { loop: new Map(), patternBytes: 0, patternMismatches: 0, firstMismatch: "" };
      seen.set(e.peer, s);
    }
    const at = u64ToNumber(e.byteIdx);
    if (e.streamIdx === loopStream) s.loop.set(at, e.payload.slice());
    else if (e.streamIdx === patternStream) {
      for (let j = 0; j < e.payload.length; j++) {
        const want = expectedPattern(at + j, patternStream);
        if (e.payload[j] !== want) {
          if (s.patternMismatches === 0)
            s.firstMismatch = `byte ${at + j}: ${String(e.payload[j])}, expected ${want}`;
          s.patternMismatches++;
        }
      }
      s.patternBytes += e.payload.length;
    }
  };
  return seen;
}

/**
 * Sends `count` loopback packets of `bytes` bytes on output 0 to each peer (peer p gets board p's
 * bytes), one per peer every `everyMs` (no burst beyond ESP32's 6-datagram queue). Returns how
 * many each peer was sent.
 */
export async function sendLoopback(
  d: EngineDriver,
  peers: readonly string[],
  count: number,
  bytes: number,
  everyMs = 10,
): Promise<number[]> {
  const sent = peers.map(() => 0);
  const idx: U64 = u64(0);
  for (let k = 0; k < count; k++) {
    for (let p = 0; p < peers.length; p++) {
      const at = k * bytes;
      idx.hi = 0;
      idx.lo = at;
      if (d.sendAudio(peers[p] as string, 0, idx, loopBytes(p, at, bytes))) sent[p] = (sent[p] ?? 0) + 1;
    }
    await sleep(everyMs);
  }
  return sent;
}

/** Discovers by broadcast until `n` servers are connected; returns their keys in connection order. */
export async function discover(d: EngineDriver, n: number, maxMs = 5000): Promise<string[]> {
  const from = d.log.length;
  d.act((e, now) => e.startDiscovery(now));
  await until(() => d.engine.connectedCount >= n, maxMs, `${n} servers connected`);
  d.act((e) => e.stopDiscovery());
  return d.log
    .slice(from)
    .filter((l) => l.event.type === "connected")
    .map((l) => l.event.peer);
}
