/**
 * Keeps the ESP32 on the configured Wi-Fi network (habit 2: a thin edge over `require("Wifi")`).
 *
 * Espruino's `Wifi.connect` reports only "Bad password"; otherwise it retries internally and may
 * stay silent, and after a few failed retries it stays disconnected. So each attempt here has its
 * own timeout (20 s); after any failure, timeout, 'disconnected' or 'dhcp_timeout' we stop the
 * driver (`disconnect()`, whose own 'disconnected' event is then ignored) and reconnect, forever,
 * after a wait of 1 s that doubles with each failed attempt up to 30 s; a connection resets it.
 *
 * It also turns modem power-save off (`setConfig({powersave:"none"})`: power-save causes audio
 * dropouts) and sets the hostname, which DHCP and mDNS announce (both again at each connection, since
 * setting it before the station has started may not take). Where the Wifi module does not exist
 * (Espruino's Linux build: `require("Wifi")` throws) the caller passes `undefined` and the state is
 * "absent" at once: serve on whatever network the host has.
 */

import type { Log, TimerHandle, Timers, WifiModule } from "./espruino.js";

/** How long one connection attempt may take, in ms. */
const CONNECT_TIMEOUT_MS = 20000;
/** First wait before reconnecting, in ms; doubles with each failed attempt. */
const RETRY_MIN_MS = 1000;
/** Longest wait before reconnecting, in ms. */
const RETRY_MAX_MS = 30000;

/**
 * - `absent`: no Wifi module, or no network configured: nothing to manage (serve at once on
 *   whatever network there is; the Wifi module is left alone);
 * - `connecting`: an attempt is running;
 * - `connected`: we have an IP address (the LED is on);
 * - `disconnected`: waiting before the next attempt.
 */
export type WifiState = "absent" | "connecting" | "connected" | "disconnected";

/** What {@link WifiLink} needs besides the Espruino APIs. */
export interface WifiOptions {
  /** Network to join; "" for none. */
  readonly ssid: string;
  readonly password: string;
  /** Hostname for DHCP and mDNS; "" for `syfala-XXXX` from the MAC address (see {@link WifiLink}). */
  readonly hostname: string;
  /** Drives a status LED (e.g. `LED1.write` where the board has one): on while connected. */
  readonly led?: (on: boolean) => void;
}

/** The station connection and its reconnect loop. Call {@link start} once. */
export class WifiLink {
  state: WifiState = "disconnected";
  private readonly wifi: WifiModule | undefined;
  private readonly timers: Timers;
  private readonly log: Log;
  private readonly opts: WifiOptions;
  /** The running attempt's timeout, or the wait before the next attempt (never both). */
  private timer: TimerHandle | undefined;
  private wait = RETRY_MIN_MS;

  constructor(wifi: WifiModule | undefined, timers: Timers, log: Log, opts: WifiOptions) {
    this.wifi = wifi;
    this.timers = timers;
    this.log = log;
    this.opts = opts;
  }

  /** Configures the radio, listens to its events and starts the first attempt. */
  start(): void {
    const w = this.wifi;
    if (w === undefined || !this.opts.ssid) this.set("absent", w ? "no ssid" : "no Wifi");
    else {
      this.tune();
      w.on("connected", () => this.up());
      w.on("disconnected", (d) => this.down("lost " + (d.msg || d.reason)));
      w.on("dhcp_timeout", () => this.down("DHCP timeout"));
      this.connect();
    }
  }

  /** One attempt, bounded by its own timeout. */
  private connect(): void {
    this.set("connecting", this.opts.ssid);
    this.timer = this.timers.setTimeout(() => this.down("timeout"), CONNECT_TIMEOUT_MS);
    try {
      (this.wifi as WifiModule).connect(this.opts.ssid, { password: this.opts.password }, (err) =>
        err ? this.down(err) : this.up(),
      );
    } catch (e) {
      this.down("" + e);
    }
  }

  /**
   * The attempt failed or the connection was lost: stop the driver and reconnect after the
   * backoff. Ignored while already disconnected (late answers of abandoned attempts, our own
   * `disconnect()`'s event).
   */
  private down(why: string): void {
    if (this.state === "disconnected") return;
    const ms = this.wait;
    this.wait = Math.min(ms * 2, RETRY_MAX_MS);
    this.set("disconnected", why + ", retry in " + ms + " ms");
    this.timer = this.timers.setTimeout(() => this.connect(), ms);
    try {
      (this.wifi as WifiModule).disconnect();
    } catch (_e) {
      // not connected
    }
  }

  /** Connected: connect's callback or the 'connected' event, whichever comes first. */
  private up(): void {
    if (this.state === "connected") return;
    this.wait = RETRY_MIN_MS;
    this.tune();
    this.set("connected", (this.wifi as WifiModule).getIP().ip || "");
  }

  /**
   * Power save off and the hostname set: at start, and again once connected (before, it may not
   * take). The default hostname is `syfala-` and the last 4 hex digits of the station MAC address,
   * which ESP32's `getIP()` gives at once as `mac` ("aa:bb:cc:dd:ee:ff"), even before connecting:
   * stable per board, unique enough on a LAN.
   */
  private tune(): void {
    const w = this.wifi as WifiModule;
    try {
      w.setConfig({ powersave: "none" });
      w.setHostname(this.opts.hostname || "syfala-" + (w.getIP().mac as string).substr(12).replace(":", ""));
    } catch (e) {
      this.log("wifi: " + e);
    }
  }

  /** Records the state, cancels the pending timer, logs and drives the LED. */
  private set(state: WifiState, detail: string): void {
    this.state = state;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.log("wifi: " + state + " " + detail);
    if (this.opts.led) this.opts.led(state === "connected");
  }
}
