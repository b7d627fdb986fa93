/**
 * Emulated boards running the REAL firmware (build/firmware/syfala.js, from `make firmware`) for
 * the client tests, and small helpers to read what a session recorded. Real UDP on 127.0.0.0/8
 * only: boards answer at 127.0.0.2.., broadcasts go to 127.255.255.255.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Lan, startBoards } from "../../host/emulator/index.js";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const FIRMWARE = join(ROOT, "build/firmware/syfala.js");
export const BROADCAST = "127.255.255.255";
const WIFI = { ssid: "lab", password: "secret" };

/** A stream of the firmware's configuration (format fields default to 16 kHz mono I16, 256 frames). */
export interface StreamConfig {
  source?: "tone" | "pattern" | "loopback" | "silence";
  sink?: "discard" | "loopback";
  sampleType?: string;
  sampleRate?: number;
  channelCount?: number;
  bufferSize?: number;
  toneHz?: number;
}

async function until(cond: () => boolean, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("the boards did not come online in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Starts `count` boards with the real firmware on UDP `port`, with these streams, and waits until
 * their Wi-Fi is up (`firmware`: another build's text instead of the file). Up to 4 clients
 * may stream at once, so that a test whose session failed cannot leave the board busy for the
 * next one. No periodic status line (`process.memory()` walks the heap: a stall).
 */
export async function firmwareBoards(
  count: number,
  port: number,
  inputs: StreamConfig[],
  outputs: StreamConfig[],
  firmware?: string,
): Promise<Lan> {
  if (firmware === undefined && !existsSync(FIRMWARE)) {
    throw new Error(`${FIRMWARE} is missing: run 'make firmware' first`);
  }
  const lan = await startBoards({
    count,
    ...(firmware === undefined ? { firmwarePath: FIRMWARE } : { firmware }),
    port,
    config: { wifi: WIFI, statusEveryMs: 0, maxClients: 4, maxStreamingClients: 4, inputs, outputs },
    wifiTiming: { connectDelayMs: 10, retryMs: 20 },
  });
  await until(() => lan.boards.every((b) => b.online), 10000);
  return lan;
}

/** A fresh temporary directory and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A 16-bit mono PCM WAV as written by our writer: header fields checked by hand, not by the reader under test. */
export interface PcmFile {
  riffSize: number;
  dataSize: number;
  fileSize: number;
  sampleRate: number;
  channels: number;
  bits: number;
  data: Uint8Array;
}

/**
 * Reads a canonical PCM WAV (RIFF, "fmt " of 16 bytes, "data") straight from its bytes: the
 * test's own reading, independent of host/media.
 */
export function readPcm(path: string): PcmFile {
  const b = new Uint8Array(readFileSync(path));
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tag = (at: number): string => String.fromCharCode(...b.subarray(at, at + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE" || tag(12) !== "fmt " || tag(36) !== "data") {
    throw new Error(`${path} is not a canonical PCM WAV`);
  }
  const dataSize = v.getUint32(40, true);
  return {
    riffSize: v.getUint32(4, true),
    dataSize,
    fileSize: b.length,
    channels: v.getUint16(22, true),
    sampleRate: v.getUint32(24, true),
    bits: v.getUint16(34, true),
    data: b.subarray(44, 44 + dataSize),
  };
}

/** The firmware's test pattern, written out independently: byte k of stream s. */
export function expectedPattern(k: number, s: number): number {
  return (k * 31 + s * 7) & 0xff;
}
