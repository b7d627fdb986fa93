/**
 * Keeps the ESP32 on the configured Wi-Fi network (habit 2: a thin edge over `require("Wifi")`).
 *
 * Espruino's `Wifi.connect` reports only "Bad password"; otherwise it retries internally and may
 * stay silent, and after a few failed retries it stays disconnected. So each attempt here has its
 * own timeout (20 s), and after any failure, 'disconnected' or 'dhcp_timeout' event we reconnect,
 * forever, after a wait of 1 s that doubles with each failed attempt up to 30 s; a connection
 * resets it.
 *
 * It also turns modem power-save off (`setConfig({powersave:"none"})`: power-save causes audio
 * dropouts) and sets the hostname, which DHCP and mDNS announce (again at each connection, since
 * setting it before the station has started may not take). Where the Wifi module does not exist
 * (Espruino's Linux build: `require("Wifi")` throws) the caller passes `undefined` and the state is
 * "absent" at once: serve on whatever network the host has.
 */

import type { Log, TimerHandle, Timers, WifiIpInfo, WifiModule } from "./espruino.js";

/** How long one connection attempt may take, in ms. */
const CONNECT_TIMEOUT_MS = 20000;
/** First wait before reconnecting, in ms; doubles with each failed attempt. */
const RETRY_MIN_MS = 1000;
/** Longest wait before reconnecting, in ms. */
const RETRY_MAX_MS = 30000;

/**
 * - `absent`: no Wifi module, or no network configured: nothing to manage (serve at once);
 * - `connecting`: an attempt is running (the LED blinks);
 * - `connected`: we have an IP address (the LED is on);
 * - `disconnected`: waiting before the next attempt.
 */
export type WifiState = "absent" | "connecting" | "connected" | "disconnected";

/** What {@link WifiLink} needs besides the Espruino APIs. */
export interface WifiOptions {
  /** Network to join; "" for none. */
  readonly ssid: string;
  readonly password: string;
  /** Hostname for DHCP and mDNS; "" for {@link defaultHostname}. */
  readonly hostname: string;
  /** Called on every state change; `detail` is the IP address when connected, else a reason. */
  readonly onStatus?: (state: WifiState, detail: string) => void;
  /** Drives a status LED (LED1 where the board has one): blinks while connecting, on when connected. */
  readonly led?: (on: boolean) => void;
}

/**
 * `syfala-` and the last 4 hex digits of the station MAC address, which ESP32's `Wifi.getIP()`
 * returns at once as `mac` ("aa:bb:cc:dd:ee:ff"), even before connecting (`getStatus` has no
 * MAC): stable per board, unique enough on a LAN. "syfala" when the MAC address is unknown.
 */
export function defaultHostname(wifi: WifiModule | undefined): string {
  let mac: unknown;
  try {
    const info: WifiIpInfo = (wifi as WifiModule).getIP() || {};
    mac = info.mac;
  } catch (_e) {
    // no Wifi module, or no MAC address
  }
  return typeof mac === "string" && mac.length === 17
    ? "syfala-" + (mac.slice(12, 14) + mac.slice(15)).toLowerCase()
    : "syfala";
}

/** The station connection and its reconnect loop. Call {@link start} once. */
export class WifiLink {
  state: WifiState = "disconnected";
  /** IP address while connected, else "". */
  ip = "";
  /** Connection attempts so far. */
  attempts = 0;
  /** Hostname in use. */
  readonly hostname: string;
  private readonly wifi: WifiModule | undefined;
  private readonly timers: Timers;
  private readonly log: Log;
  private readonly opts: WifiOptions;
  /** The running attempt's timeout, or the wait before the next attempt (never both). */
  private timer: TimerHandle | undefined = undefined;
  private blinker: TimerHandle | undefined = undefined;
  private wait = RETRY_MIN_MS;

  constructor(wifi: WifiModule | undefined, timers: Timers, log: Log, opts: WifiOptions) {
    this.wifi = wifi;
    this.timers = timers;
    this.log = log;
    this.opts = opts;
    this.hostname = opts.hostname || defaultHostname(wifi);
  }

  /** Configures the radio, listens to its events and starts the first attempt. */
  start(): void {
    const w = this.wifi;
    if (w === undefined) {
      this.set("absent", "no Wi-Fi: serving at once");
      return;
    }
    try {
      w.setConfig({ powersave: "none" });
      w.setHostname(this.hostname);
    } catch (e) {
      this.log("wifi: " + e);
    }
    w.on("connected", (d) => this.up(d.ip));
    w.on("disconnected", (d) => this.down("disconnected: " + (d.msg || d.reason)));
    w.on("dhcp_timeout", () => this.down("DHCP timeout"));
    if (this.opts.ssid) this.connect();
    else this.set("absent", "no wifi.ssid configured");
  }

  /** One attempt, bounded by its own timeout. */
  private connect(): void {
    this.attempts++;
    this.set("connecting", this.opts.ssid);
    this.timer = this.timers.setTimeout(
      () => this.fail("no connection in " + CONNECT_TIMEOUT_MS + " ms"),
      CONNECT_TIMEOUT_MS,
    );
    try {
      (this.wifi as WifiModule).connect(this.opts.ssid, { password: this.opts.password }, (err) =>
        err ? this.fail(err) : this.up(""),
      );
    } catch (e) {
      this.fail(String(e));
    }
  }

  /** The running attempt failed: stop the driver's own retries (its 'disconnected' is then ignored) and retry later. */
  private fail(reason: string): void {
    if (this.state !== "connecting") return;
    this.state = "disconnected";
    try {
      (this.wifi as WifiModule).disconnect();
    } catch (_e) {
      // not connected
    }
    this.later(reason);
  }

  /** Connection lost, or the driver gave up: reconnect later. Ignored while already waiting. */
  private down(reason: string): void {
    if (this.state === "connected" || this.state === "connecting") this.later(reason);
  }

  private later(reason: string): void {
    this.stop();
    this.ip = "";
    const ms = this.wait;
    this.wait = Math.min(ms * 2, RETRY_MAX_MS);
    if (!this.opts.ssid) this.set("disconnected", reason);
    else {
      this.set("disconnected", reason + "; retry in " + ms + " ms");
      this.timer = this.timers.setTimeout(() => this.connect(), ms);
    }
  }

  /** Connected: connect's callback (`ip` "") or the 'connected' event, whichever comes first. */
  private up(ip: string | undefined): void {
    const w = this.wifi as WifiModule;
    this.stop();
    this.wait = RETRY_MIN_MS;
    ip = ip || (w.getIP() || ({} as WifiIpInfo)).ip || "";
    if (this.state === "connected" && ip === this.ip) return;
    try {
      if (this.state !== "connected") w.setHostname(this.hostname);
    } catch (_e) {
      // keeps the name it had
    }
    this.ip = ip;
    this.set("connected", ip);
  }

  private stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Records the state, logs it, drives the LED and tells the caller. */
  private set(state: WifiState, detail: string): void {
    this.state = state;
    this.log("wifi: " + state + " " + detail);
    const led = this.opts.led;
    if (led !== undefined) {
      if (this.blinker !== undefined) this.timers.clearInterval(this.blinker);
      this.blinker = undefined;
      let on = state === "connected";
      if (state === "connecting")
        this.blinker = this.timers.setInterval(() => {
          on = !on;
          led(on);
        }, 250);
      led(on);
    }
    const cb = this.opts.onStatus;
    if (cb !== undefined) cb(state, detail);
  }
}
