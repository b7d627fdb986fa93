/**
 * The Espruino APIs the firmware uses, as interfaces: exactly the surface our modules call, no
 * more. Firmware modules never read Espruino's globals (`E`, `require`, `setTimeout`...); they
 * receive these objects as parameters, so that every module imports and runs under Node with the
 * fakes of test/support/espruino-fakes.ts. Only firmware/main.ts touches the real globals.
 *
 * Behaviour notes come from ESPRUINO.md (measured on Espruino 2v29) and Espruino's ESP32 source.
 * This file emits no JavaScript (types only).
 */

/** Sender of a received datagram, as Espruino's dgram gives it. */
export interface DgramRemoteInfo {
  readonly address: string;
  readonly port: number;
  /** Datagram length in bytes. */
  readonly size: number;
}

/**
 * Options of `require("dgram").createSocket`. `recvBufferSize` (bytes) raises the receive limit
 * to `recvBufferSize - 8` for every socket; without it datagrams are truncated to 528 bytes.
 */
export interface DgramSocketOptions {
  type: "udp4";
  reuseAddr: boolean;
  recvBufferSize: number;
}

/** A socket from Espruino's dgram module. */
export interface DgramSocket {
  /**
   * `msg` is a binary string (one char 0-255 per byte). 'close' fires when the socket closes,
   * including (twice) when a zero-length datagram arrives.
   */
  on(event: "message", listener: (msg: string, rinfo: DgramRemoteInfo) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  /**
   * Binds all interfaces. A failed bind throws **and** still calls `callback` later (with the
   * socket), so the callback tells nothing; catch the throw instead.
   */
  bind(port: number, callback?: () => void): unknown;
  /**
   * Strings only (a typed array is sent as the text "0,128,255"). The 5-argument form sends
   * `length` bytes of `data` from `offset`; both forms copy the bytes before returning. A trailing
   * callback would be accepted and never called, so there is none. Throws "Not enough stack
   * memory" on ESP32 when the datagram does not fit the task stack.
   */
  send(data: string, port: number, address: string): void;
  send(data: string, offset: number, length: number, port: number, address: string): void;
  close(): void;
  /**
   * The send queue: every datagram `send` accepted and the idle loop has not sent yet, each
   * behind an 8-byte header (address, port, length); undefined or "" when empty. Espruino's
   * own field (libs/network/socketserver.c, HTTP_NAME_SEND_DATA), read-only for us: sending
   * has no backpressure, so this is how the firmware sees what has not left.
   */
  readonly dSnd?: string;
}

/** `require("dgram")`. */
export interface DgramModule {
  createSocket(options: DgramSocketOptions): DgramSocket;
}

/** What `Wifi.getIP()` returns on ESP32: `mac` always ("aa:bb:cc:dd:ee:ff"), the rest once connected. */
export interface WifiIpInfo {
  readonly ip?: string;
  readonly netmask?: string;
  readonly gw?: string;
  readonly mac?: string;
}

/** Details of the 'connected' event (ESP32: got an IP address). */
export interface WifiConnectedDetails {
  readonly ip?: string;
}

/** Details of the 'disconnected' event (ESP32: reason code as a string, `msg` its name). */
export interface WifiDisconnectedDetails {
  readonly reason?: string;
  readonly msg?: string;
}

/** `require("Wifi")` on ESP32 (absent on Espruino's Linux build, where `require` throws). */
export interface WifiModule {
  /**
   * Starts connecting as a station. `callback(null)` once an IP address is obtained; an error
   * string only for "Bad password": otherwise it retries internally and may stay silent forever,
   * so the caller needs its own timeout.
   */
  connect(ssid: string, options: { password: string }, callback: (err: string | null) => void): void;
  /** Stops the station (and its internal retries); 'disconnected' follows. */
  disconnect(): void;
  on(event: "connected", listener: (details: WifiConnectedDetails) => void): unknown;
  on(event: "disconnected" | "dhcp_timeout", listener: (details: WifiDisconnectedDetails) => void): unknown;
  /** ESP32 returns the info at once (and also passes it to a callback when given one). */
  getIP(): WifiIpInfo;
  /** Sets the DHCP hostname and announces it over mDNS. */
  setHostname(hostname: string): void;
  /** `{ powersave: "none" }` keeps the radio on: modem power-save causes audio dropouts. */
  setConfig(settings: { powersave: "none" }): void;
}

/** `require("Storage")`: JSON files in flash. Names over 28 characters are silently truncated. */
export interface StorageModule {
  /** The parsed file; undefined when missing, or (with `noExceptions`) not valid JSON. */
  readJSON(name: string, noExceptions: boolean): unknown;
  writeJSON(name: string, data: unknown): unknown;
}

/** The part of Espruino's `E` object we use. */
export interface EspruinoE {
  /**
   * Bytes as a binary string. For a typed array covering its whole buffer the string aliases the
   * memory (no copy); for any other view (`subarray`) it copies.
   */
  toString(bytes: Uint8Array): string;
  /** A binary string's bytes as an ArrayBuffer (by reference when possible, about 4 us). */
  toArrayBuffer(str: string): ArrayBuffer;
  /** A binary string's bytes copied into a new Uint8Array (about 35 us: prefer toArrayBuffer). */
  toUint8Array(str: string): Uint8Array;
  /** Error flags set since the last call, e.g. "FIFO_FULL", "LOW_MEMORY" (they are then cleared). */
  getErrorFlags(): string[];
  on(event: "errorFlag", listener: (flags: string[]) => void): unknown;
}

/**
 * `process.memory()`: JsVar blocks (14 bytes each on ESP32). `free` and `total` are what the
 * firmware reports; the rest is left out.
 */
export interface MemoryInfo {
  readonly free: number;
  readonly total: number;
  readonly usage?: number;
}

/** `process`, reduced to what we use. */
export interface EspruinoProcess {
  memory(): MemoryInfo;
}

/** A timer handle: a number on Espruino, an object on Node. Only ever given back to clear it. */
export type TimerHandle = unknown;

/**
 * Timers (the globals of the same names). Never clear `undefined`: Espruino throws on
 * `clearTimeout(undefined)`, and `clearTimeout()` without an argument clears **every** timer.
 * Clearing a timer that already fired is harmless.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

/** Where a module writes its one-line log messages (the console on the board). */
export type Log = (line: string) => void;
