/**
 * Espruino's built-in objects as the emulator provides them: `E` (toString, toUint8Array,
 * toArrayBuffer, toJS, getErrorFlags, getSizeOf, setBootCode, setTimeZone, setFlags, reboot, hwRand,
 * getTemperature; events 'init', 'kill', 'errorFlag' through `E.on`), `process` (env, version,
 * memory(); 'uncaughtException' through `process.on`) and, on the esp32 profile, `ESP32`
 * (getState, reboot, deepSleep, and BLE/Wi-Fi switches that do nothing).
 */

import { binaryString, type Realm } from "./context.js";
import { modulesOf, type Profile } from "./profile.js";

/** What the built-ins need from their interpreter and board. */
export interface BuiltinDeps {
  readonly realm: Realm;
  readonly host: {
    readonly profile: Profile;
    readonly serial: string;
    readonly memoryBlocks: number;
    request(kind: "reboot"): void;
    setBootCode(code: string, alwaysRun: boolean): void;
  };
  /** The error flags raised since the last call, cleared. */
  takeErrorFlags(): string[];
  sizeOf(v: unknown): number;
  /** process.memory()'s object. */
  memory(): Record<string, unknown>;
}

/**
 * The memory of a value whose bytes E.toString/E.toUint8Array take as they are (a DataView, a
 * typed array of 1-byte elements, an ArrayBuffer), as a view without a copy; undefined for any
 * other value (wider typed arrays give each element's low 8 bits instead).
 */
function rawBytes(v: unknown): Uint8Array | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  if (ArrayBuffer.isView(v)) {
    const u = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (
      Object.prototype.toString.call(v) === "[object DataView]" ||
      u.length === (v as { length?: number }).length
    ) {
      return u;
    }
    return undefined;
  }
  if (Object.prototype.toString.call(v) === "[object ArrayBuffer]") return new Uint8Array(v as ArrayBuffer);
  return undefined;
}

/** A JavaScript value's bytes as E.toString/E.toUint8Array read them; false when not convertible. */
export function collectBytes(v: unknown, out: number[]): boolean {
  if (typeof v === "string") {
    for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 255);
    return true;
  }
  if (typeof v === "number") {
    out.push(v & 255);
    return true;
  }
  if (typeof v !== "object" || v === null) return false;
  const raw = rawBytes(v);
  if (raw !== undefined) {
    for (const b of raw) out.push(b);
    return true;
  }
  if (ArrayBuffer.isView(v)) {
    const items = v as unknown as ArrayLike<number>;
    for (let i = 0; i < items.length; i++) out.push(Number(items[i]) & 255);
    return true;
  }
  if (Array.isArray(v)) {
    for (const item of v) if (!collectBytes(item, out)) return false;
    return true;
  }
  const rec = v as { data?: unknown; count?: unknown };
  if (rec.data !== undefined) {
    const count = typeof rec.count === "number" ? rec.count : 1;
    for (let i = 0; i < count; i++) if (!collectBytes(rec.data, out)) return false;
    return true;
  }
  return false;
}

/** Espruino's E.toJS: compact JavaScript text for a value. */
export function toJs(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined || v === null || typeof v !== "object") {
    return typeof v === "function" ? Function.prototype.toString.call(v) : String(v);
  }
  if (Array.isArray(v)) return "[" + v.map(toJs).join(",") + "]";
  const parts = Object.keys(v).map(
    (k) =>
      (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)) + ":" + toJs((v as Record<string, unknown>)[k]),
  );
  return "{" + parts.join(",") + "}";
}

/** Espruino's `E` (the parts the emulator has). */
export function makeE(d: BuiltinDeps): Record<string, unknown> {
  const r = d.realm;
  const toBytes = (args: unknown[]): number[] | undefined => {
    const out: number[] = [];
    for (const a of args) if (!collectBytes(a, out)) return undefined;
    return out;
  };
  const e = r.methods({
    toString: (...args: unknown[]) => {
      // One typed array or ArrayBuffer (the firmware's send path): its bytes in one native copy.
      const raw = args.length === 1 ? rawBytes(args[0]) : undefined;
      if (raw !== undefined) return binaryString(raw);
      const b = toBytes(args);
      return b === undefined ? undefined : binaryString(b);
    },
    toUint8Array: (...args) => {
      const b = toBytes(args);
      return b === undefined ? undefined : r.bytes(b);
    },
    toArrayBuffer: (s) => r.stringBytes(String(s)).buffer,
    toJS: (v) => toJs(v),
    getErrorFlags: () => r.array(d.takeErrorFlags()),
    getSizeOf: (v) => d.sizeOf(v),
    setBootCode: (code, always) =>
      d.host.setBootCode(code === undefined ? "" : String(code), Boolean(always)),
    setTimeZone: () => undefined,
    // Espruino's interpreter flags (the firmware sets `pretokenise`): they change how code is
    // stored, not what it does, so the emulator takes and ignores them.
    setFlags: () => undefined,
    reboot: () => d.host.request("reboot"),
    hwRand: () => Math.floor(Math.random() * 4294967296) | 0,
    getTemperature: () => 25,
  });
  return r.markNative(e);
}

/** Espruino's `process`: env, version, memory(); `on` comes from Object.prototype. */
export function makeProcess(d: BuiltinDeps): Record<string, unknown> {
  const r = d.realm;
  const p = r.methods({ memory: () => d.memory() });
  const profile = d.host.profile;
  p.env = r.object({
    VERSION: profile.version,
    GIT_COMMIT: "emulator",
    BOARD: profile.board,
    RAM: d.host.memoryBlocks * profile.blockBytes,
    FLASH: 0,
    SPIFLASH: 4194304,
    STORAGE: 1048576,
    SERIAL: d.host.serial,
    CONSOLE: "Telnet",
    MODULES: modulesOf(profile).join(","),
    EXPTR: 0,
  });
  p.version = profile.version;
  return r.markNative(p);
}

/** The esp32 profile's `ESP32` object (also `require("ESP32")`). */
export function makeEsp32(d: BuiltinDeps): Record<string, unknown> {
  const r = d.realm;
  const esp = r.methods({
    getState: () =>
      r.object({
        sdkVersion: "emulator",
        cpuFrequency: 240,
        freeHeap: 100000,
        maxBlock: 60000,
        BLE: false,
        Wifi: true,
      }),
    reboot: () => d.host.request("reboot"),
    deepSleep: () => d.host.request("reboot"),
    setBLE_Debug: () => undefined,
    enableBLE: () => undefined,
    enableWifi: () => undefined,
  });
  return r.markNative(esp);
}
