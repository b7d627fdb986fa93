/**
 * Fakes of the Espruino APIs in firmware/board/espruino.ts, following what ESPRUINO.md measured on
 * Espruino 2v29 (and Espruino's ESP32 source), so that the firmware's adapters are tested against
 * the real behaviour rather than Node's:
 * - {@link FakeClock}: timers on a virtual clock; `clearTimeout(undefined)` throws as on Espruino;
 * - {@link FakeE}: `E.toString` / `E.toArrayBuffer` on binary strings (one char 0-255 per byte);
 * - {@link FakeDgram}: messages are binary strings, `rinfo = {address, port, size}`; datagrams are
 *   truncated to 528 bytes unless some socket was created with `recvBufferSize: N` (then N - 8,
 *   for every socket); a zero-length datagram closes the socket and 'close' fires twice; `send`
 *   takes strings only (a typed array is sent as its text, "0,128,255"), in the 3- and 5-argument
 *   forms, and copies at the call; a failed bind throws AND still calls bind's callback later;
 * - {@link FakeWifi}: connect reports only "Bad password", otherwise success (callback, then the
 *   'connected' event) or silence, as the test decides; `disconnect()` is followed by a
 *   'disconnected' event; `getIP()` returns the MAC address at once;
 * - {@link FakeStorage}: `readJSON(name, true)` gives undefined for a missing or invalid file;
 *   names over 28 characters are truncated.
 * Events that Espruino queues for its idle loop (close, bind callbacks, Wi-Fi events) are queued
 * on the clock at the current time: they run on the next `advance`.
 */

import type {
  DgramModule,
  DgramRemoteInfo,
  DgramSocket,
  DgramSocketOptions,
  EspruinoE,
  StorageModule,
  TimerHandle,
  Timers,
  WifiConnectedDetails,
  WifiDisconnectedDetails,
  WifiIpInfo,
  WifiModule,
} from "../../firmware/board/espruino.js";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  /** 0 for a timeout, else the interval in ms. */
  every: number;
}

/** Timers on a virtual clock (ms). Nothing runs until {@link advance}. */
export class FakeClock implements Timers {
  now = 0;
  private nextId = 1;
  private timers: Timer[] = [];

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, 0);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, Math.max(ms, 1));
  }

  clearTimeout(handle: TimerHandle): void {
    this.clear(handle);
  }

  clearInterval(handle: TimerHandle): void {
    this.clear(handle);
  }

  /** Timers still pending. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves the clock forward by `ms`, running every timer due on the way, in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let next: Timer | undefined;
      for (const t of this.timers) if (t.at <= end && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) {
        this.now = end;
        return;
      }
      this.now = next.at;
      if (next.every > 0) next.at += next.every;
      else this.timers.splice(this.timers.indexOf(next), 1);
      next.fn();
    }
    throw new Error("FakeClock: too many timers");
  }

  private add(fn: () => void, ms: number, every: number): number {
    const id = this.nextId++;
    this.timers.push({ id: id, at: this.now + Math.max(ms, 0), fn: fn, every: every });
    return id;
  }

  private clear(handle: TimerHandle): void {
    // Espruino: clearTimeout(undefined) throws, and clearTimeout() clears every timer.
    if (handle === undefined)
      throw new Error("clearTimeout(undefined) not allowed. Use clearTimeout() instead.");
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
}

/** Bytes as a binary string (one char per byte). */
export function binaryString(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** A binary string's bytes; throws on a char above 255 (not a binary string). */
export function bytesOf(str: string): Uint8Array {
  const u = new Uint8Array(str.length);
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c > 255) throw new Error("not a binary string: char " + c + " at " + i);
    u[i] = c;
  }
  return u;
}

/** `E`: conversions between binary strings and bytes, with call counters. */
export class FakeE implements EspruinoE {
  /** E.toString calls on a view covering its whole buffer (Espruino: aliases, no copy). */
  wholeViews = 0;
  /** E.toString calls on a partial view (Espruino: copies). */
  partialViews = 0;
  /** Every array E.toString was given, in order. */
  readonly toStringArgs: Uint8Array[] = [];

  toString(bytes: Uint8Array): string {
    this.toStringArgs.push(bytes);
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) this.wholeViews++;
    else this.partialViews++;
    return binaryString(bytes);
  }

  toArrayBuffer(str: string): ArrayBuffer {
    return bytesOf(str).buffer as ArrayBuffer;
  }

  toUint8Array(str: string): Uint8Array {
    return bytesOf(str);
  }

  getErrorFlags(): string[] {
    return [];
  }

  on(_event: "errorFlag", _listener: (flags: string[]) => void): unknown {
    return undefined;
  }
}

/** One datagram sent through a {@link FakeDgram} socket. */
export interface SentDatagram {
  /** The string handed to the network (a binary string, or a typed array's text). */
  readonly text: string;
  readonly port: number;
  readonly address: string;
  readonly socket: FakeDgramSocket;
}

/** Espruino's `dgram` on one device, with the network's side under the test's control. */
export class FakeDgram implements DgramModule {
  readonly sockets: FakeDgramSocket[] = [];
  readonly sent: SentDatagram[] = [];
  /** Receive limit in bytes: 528, raised to `recvBufferSize - 8` by any socket that asks (for every socket). */
  recvLimit = 528;
  /** The next this many binds throw (and still call their callback). */
  failBinds = 0;
  /** The next this many sends throw, as ESP32 does when the datagram does not fit its stack. */
  failSends = 0;
  readonly clock: FakeClock;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  createSocket(options: DgramSocketOptions): FakeDgramSocket {
    if (options.type !== "udp4") throw new Error("type must be udp4");
    if (typeof options.recvBufferSize === "number") {
      this.recvLimit = Math.max(this.recvLimit, options.recvBufferSize - 8);
    }
    const s = new FakeDgramSocket(this, options);
    this.sockets.push(s);
    return s;
  }

  /** The open socket bound to `port`, if any (the last one bound). */
  boundTo(port: number): FakeDgramSocket | undefined {
    for (let i = this.sockets.length - 1; i >= 0; i--) {
      const s = this.sockets[i] as FakeDgramSocket;
      if (s.state === "bound" && s.port === port) return s;
    }
    return undefined;
  }

  /**
   * A datagram arrives for `port` from `address:fromPort`. Returns false when no socket listens.
   * Truncated to {@link recvLimit}; a zero-length one closes the socket ('close' twice, queued).
   */
  deliver(port: number, data: Uint8Array, address: string, fromPort: number): boolean {
    const s = this.boundTo(port);
    if (s === undefined) return false;
    if (data.length === 0) {
      s.state = "closed";
      this.clock.setTimeout(() => s.emitClose(), 0);
      this.clock.setTimeout(() => s.emitClose(), 0);
      return true;
    }
    const msg = binaryString(data.subarray(0, this.recvLimit));
    s.emitMessage(msg, { address: address, port: fromPort, size: msg.length });
    return true;
  }
}

/** A socket of {@link FakeDgram}. */
export class FakeDgramSocket implements DgramSocket {
  state: "new" | "bound" | "closed" = "new";
  port = -1;
  /** Espruino's send queue (each datagram behind 8 header bytes): set it to model a backlog. */
  dSnd: string | undefined = undefined;
  readonly options: DgramSocketOptions;
  private readonly dgram: FakeDgram;
  private readonly messageListeners: ((msg: string, rinfo: DgramRemoteInfo) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];

  constructor(dgram: FakeDgram, options: DgramSocketOptions) {
    this.dgram = dgram;
    this.options = options;
  }

  on(event: "message", listener: (msg: string, rinfo: DgramRemoteInfo) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: string, listener: ((msg: string, rinfo: DgramRemoteInfo) => void) | (() => void)): unknown {
    if (event === "message")
      this.messageListeners.push(listener as (msg: string, rinfo: DgramRemoteInfo) => void);
    else if (event === "close") this.closeListeners.push(listener as () => void);
    else throw new Error("FakeDgramSocket: unexpected event " + event);
    return this;
  }

  bind(port: number, callback?: () => void): unknown {
    if (this.state !== "new") throw new Error("FakeDgramSocket: bind on a " + this.state + " socket");
    // Espruino queues the callback whether or not the bind worked.
    if (callback !== undefined) this.dgram.clock.setTimeout(callback, 0);
    if (this.dgram.failBinds > 0) {
      this.dgram.failBinds--;
      throw new Error("Unable to bind to port " + port);
    }
    this.state = "bound";
    this.port = port;
    return this;
  }

  send(data: string, port: number, address: string): void;
  send(data: string, offset: number, length: number, port: number, address: string): void;
  send(data: unknown, a: unknown, b: unknown, c?: unknown, d?: unknown): void {
    // A typed array is sent as its text ("0,128,255"), as on Espruino.
    let text = typeof data === "string" ? data : String(data);
    let port = a;
    let address = b;
    if (typeof c === "number") {
      text = text.substr(a as number, b as number);
      port = c;
      address = d;
    }
    if (typeof port !== "number" || typeof address !== "string")
      throw new Error("FakeDgramSocket: bad send arguments");
    if (this.dgram.failSends > 0) {
      this.dgram.failSends--;
      throw new Error("Not enough stack memory");
    }
    bytesOf(text); // a binary string, or throw
    this.dgram.sent.push({ text: text, port: port, address: address, socket: this });
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.dgram.clock.setTimeout(() => this.emitClose(), 0);
  }

  emitMessage(msg: string, rinfo: DgramRemoteInfo): void {
    for (const l of this.messageListeners) l(msg, rinfo);
  }

  emitClose(): void {
    for (const l of this.closeListeners) l();
  }
}

/** `require("Wifi")` on ESP32, driven by the test. Events are queued on the clock. */
export class FakeWifi implements WifiModule {
  /** What getIP() returns as `mac`; undefined to leave it out. */
  mac: string | undefined = "24:0a:c4:12:ab:cd";
  ip = "";
  readonly connects: { ssid: string; password: string; at: number }[] = [];
  readonly hostnames: string[] = [];
  readonly configs: unknown[] = [];
  disconnects = 0;
  private callback: ((err: string | null) => void) | undefined;
  private readonly listeners: { event: string; fn: (details: object) => void }[] = [];
  private readonly clock: FakeClock;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  connect(ssid: string, options: { password: string }, callback: (err: string | null) => void): void {
    this.connects.push({ ssid: ssid, password: options.password, at: this.clock.now });
    this.callback = callback;
  }

  /** Like ESP32's, it leaves the pending connect callback in place (it is only replaced by the next connect). */
  disconnect(): void {
    this.disconnects++;
    this.ip = "";
    this.queue("disconnected", { ssid: "", mac: "", reason: "8", msg: "ASSOC_LEAVE" });
  }

  on(event: "connected", listener: (details: WifiConnectedDetails) => void): unknown;
  on(event: "disconnected" | "dhcp_timeout", listener: (details: WifiDisconnectedDetails) => void): unknown;
  on(event: string, listener: (details: object) => void): unknown {
    this.listeners.push({ event: event, fn: listener });
    return undefined;
  }

  getIP(): WifiIpInfo {
    const info: { ip: string; netmask: string; gw: string; mac?: string } = {
      ip: this.ip === "" ? "0.0.0.0" : this.ip,
      netmask: this.ip === "" ? "0.0.0.0" : "255.255.255.0",
      gw: this.ip === "" ? "0.0.0.0" : "192.168.1.1",
    };
    if (this.mac !== undefined) info.mac = this.mac;
    return info;
  }

  setHostname(hostname: string): void {
    this.hostnames.push(hostname);
  }

  setConfig(settings: { powersave: "none" }): void {
    this.configs.push(settings);
  }

  /** The pending connect succeeds: its callback with null, then the 'connected' event (ESP32's order). */
  succeed(ip: string): void {
    const cb = this.callback;
    this.callback = undefined;
    this.ip = ip;
    if (cb !== undefined) this.clock.setTimeout(() => cb(null), 0);
    this.queue("connected", { ip: ip, netmask: "255.255.255.0", gw: "192.168.1.1" });
  }

  /** The pending connect is answered "Bad password". */
  badPassword(): void {
    const cb = this.callback;
    this.callback = undefined;
    if (cb !== undefined) this.clock.setTimeout(() => cb("Bad password"), 0);
  }

  /** The station loses its access point (or the driver gives up): 'disconnected'. */
  drop(msg: string): void {
    this.ip = "";
    this.queue("disconnected", { ssid: "studio", mac: "aa:bb:cc:dd:ee:ff", reason: "200", msg: msg });
  }

  /** Emits any event (e.g. 'dhcp_timeout'), queued. */
  queue(event: string, details: object): void {
    this.clock.setTimeout(() => {
      for (const l of this.listeners) if (l.event === event) l.fn(details);
    }, 0);
  }
}

/** `require("Storage")`: files as text. */
export class FakeStorage implements StorageModule {
  readonly files = new Map<string, string>();

  readJSON(name: string, noExceptions: boolean): unknown {
    const text = this.files.get(name.slice(0, 28));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      if (noExceptions) return undefined;
      throw e;
    }
  }

  writeJSON(name: string, data: unknown): boolean {
    this.files.set(name.slice(0, 28), JSON.stringify(data));
    return true;
  }

  /** Stores raw text (for files that are not valid JSON). */
  writeText(name: string, text: string): void {
    this.files.set(name.slice(0, 28), text);
  }
}
