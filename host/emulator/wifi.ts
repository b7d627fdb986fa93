/**
 * Wi-Fi of an emulated ESP32: a simulated access point and the board's station, with
 * `require("Wifi")` on top, following Espruino's ESP32 driver (libs/network/esp32):
 * - `connect(ssid, {password}, cb)`: after `connectDelayMs`, when the access point is up and the
 *   SSID is its own: the right password gives `cb(null)` then the 'connected' event
 *   `{ip, netmask, gw}` (the board's 127.0.0.x address); a wrong one gives `cb("Bad password")`
 *   and nothing else. An unknown SSID, or an access point that is down, is retried silently every
 *   `retryMs`, `retries` times, then a 'disconnected' event (reason 201, NO_AP_FOUND) and the
 *   station stays off: the callback is never called, firmware needs its own timeout;
 * - 'disconnected' `{ssid, mac, reason, msg}` when the link drops (the test controller's drop(),
 *   reason 200 BEACON_TIMEOUT) or on `disconnect([cb])` (8 ASSOC_LEAVE); no automatic reconnect;
 * - 'dhcp_timeout' from the controller's dhcpTimeout();
 * - `getIP([cb])` returns `{ip, netmask, gw, mac}` at once (ip "0.0.0.0" while off) and queues
 *   `cb(null, info)`; `getStatus()` `{station, mode, powersave, ssid?}`; `setHostname(name[, cb])`,
 *   `getHostname()`; `setConfig({powersave})` ("none", "min", "max"); `scan(cb)`; `startAP`,
 *   `stopAP`, `save`, `restore` are accepted and ignored.
 * The station lives on the board: it stays associated across `reset()` (whose new program must
 * listen again) and is off after a power cycle. While it is not connected the board is offline:
 * its sockets neither send nor receive.
 */

import type { Realm } from "./context.js";
import type { EventLoop } from "./loop.js";

/** The simulated access point. */
export interface AccessPoint {
  ssid: string;
  password: string;
}

export interface WifiTiming {
  /** Time from connect() to the result, in ms. Defaults to 50. */
  readonly connectDelayMs: number;
  /** Time between silent retries, in ms. Defaults to 1000. */
  readonly retryMs: number;
  /** Silent retries before giving up with 'disconnected'. Defaults to 5. */
  readonly retries: number;
}

export type StationState = "off" | "connecting" | "connected";

/** The test controller of a board's Wi-Fi link. */
export interface WifiController {
  /** The access point disappears: 'disconnected' if associated; the board is offline until restore(). */
  drop(): void;
  /** The access point is back; a pending connect() completes at its next retry. */
  restore(): void;
  /** DHCP fails: 'dhcp_timeout', and the station is off. */
  dhcpTimeout(): void;
  /** True while the access point is reachable. */
  readonly linkUp: boolean;
  readonly state: StationState;
  /** Connection attempts made by the firmware (connect() calls). */
  readonly connects: number;
  readonly hostname: string;
  readonly powersave: string;
}

/** Where the station sends its events: the current interpreter's Wifi module, if required. */
interface Target {
  realm: Realm;
  loop: EventLoop;
  object: object;
}

export class WifiStation implements WifiController {
  linkUp = true;
  state: StationState = "off";
  connects = 0;
  hostname = "";
  powersave = "none";
  private ssid = "";
  private lastReason = "UNSPECIFIED";
  private attempt: NodeJS.Timeout | undefined;
  private target: Target | undefined;
  private readonly timing: WifiTiming;

  constructor(
    private readonly ap: AccessPoint,
    private readonly address: string,
    readonly mac: string,
    timing: Partial<WifiTiming> = {},
    private readonly onChange: () => void = () => undefined,
  ) {
    this.timing = {
      connectDelayMs: timing.connectDelayMs ?? 50,
      retryMs: timing.retryMs ?? 1000,
      retries: timing.retries ?? 5,
    };
  }

  get connected(): boolean {
    return this.state === "connected" && this.linkUp;
  }

  /**
   * The interpreter whose Wifi module receives the events (undefined: nobody listens). A pending
   * connection attempt goes on (the radio does not care about resets); its callback is dropped.
   */
  attach(target: Target | undefined): void {
    this.target = target;
  }

  /** Power-off: the station is off and forgets everything. */
  powerOff(): void {
    this.cancel();
    this.state = "off";
    this.target = undefined;
  }

  drop(): void {
    this.linkUp = false;
    if (this.state === "connected") {
      this.state = "off";
      this.disconnected("200", "BEACON_TIMEOUT");
    }
    this.onChange();
  }

  restore(): void {
    this.linkUp = true;
    this.onChange();
  }

  dhcpTimeout(): void {
    this.cancel();
    if (this.state !== "off") {
      this.state = "off";
      this.emit("dhcp_timeout", {});
    }
    this.onChange();
  }

  private cancel(): void {
    if (this.attempt !== undefined) clearTimeout(this.attempt);
    this.attempt = undefined;
  }

  private emit(event: string, details: Record<string, unknown>): void {
    const t = this.target;
    if (t === undefined) return;
    t.loop.post(() => t.realm.emit(t.object, event, [t.realm.object(details)]));
  }

  private callback(cb: unknown, args: unknown[], t: Target | undefined = this.target): void {
    if (t === undefined || typeof cb !== "function") return;
    t.loop.post(() => (cb as (...a: unknown[]) => void)(...args));
  }

  private disconnected(reason: string, msg: string): void {
    this.lastReason = msg;
    this.emit("disconnected", { ssid: this.ssid, mac: this.mac, reason, msg });
  }

  private connect(ssid: string, password: string, cb: unknown): void {
    this.cancel();
    this.connects++;
    this.ssid = ssid;
    if (this.state === "connected") this.state = "off";
    this.state = "connecting";
    this.onChange();
    const owner = this.target;
    let tries = 0;
    const tryOnce = (): void => {
      this.attempt = undefined;
      if (this.linkUp && ssid === this.ap.ssid) {
        if (password !== this.ap.password) {
          this.state = "off";
          this.lastReason = "AUTH_FAIL";
          this.callback(cb, ["Bad password"], owner);
          this.onChange();
          return;
        }
        this.state = "connected";
        this.callback(cb, [null], owner);
        this.emit("connected", { ip: this.address, netmask: "255.0.0.0", gw: "127.0.0.1" });
        this.onChange();
        return;
      }
      if (++tries > this.timing.retries) {
        this.state = "off";
        this.disconnected("201", "NO_AP_FOUND");
        this.onChange();
        return;
      }
      this.attempt = setTimeout(tryOnce, this.timing.retryMs);
    };
    this.attempt = setTimeout(tryOnce, this.timing.connectDelayMs);
  }

  private ipInfo(realm: Realm): Record<string, unknown> {
    const on = this.connected;
    return realm.object({
      ip: on ? this.address : "0.0.0.0",
      netmask: on ? "255.0.0.0" : "0.0.0.0",
      gw: on ? "127.0.0.1" : "0.0.0.0",
      mac: this.mac,
    });
  }

  /** `require("Wifi")` for one interpreter; events go to it from now on. */
  module(realm: Realm, loop: EventLoop): object {
    const m = realm.methods({
      connect: (ssid, options, cb) => {
        if (typeof ssid !== "string") throw realm.error("No SSID provided");
        const pw = (options as { password?: unknown } | undefined)?.password;
        if (pw !== undefined && typeof pw !== "string") {
          throw realm.error(`Expecting options.password to be a string but got ${typeof pw}`);
        }
        this.connect(ssid, pw ?? "", cb);
      },
      disconnect: (cb) => {
        this.cancel();
        this.callback(cb, []);
        if (this.state !== "off") {
          this.state = "off";
          this.disconnected("8", "ASSOC_LEAVE");
        }
        this.onChange();
      },
      getIP: (cb) => {
        const info = this.ipInfo(realm);
        this.callback(cb, [null, info]);
        return info;
      },
      getStatus: () => {
        const status: Record<string, unknown> = {
          station: this.connected
            ? "connected"
            : this.state === "connecting"
              ? "connecting"
              : this.lastReason,
          mode: "STA",
          powersave: this.powersave,
        };
        if (this.connected) status.ssid = this.ssid;
        return realm.object(status);
      },
      getDetails: () =>
        realm.object({ status: this.connected ? "connected" : this.lastReason, ssid: this.ssid }),
      setHostname: (name, cb) => {
        this.hostname = String(name);
        this.callback(cb, []);
      },
      getHostname: () => this.hostname,
      setConfig: (settings) => {
        const ps = (settings as { powersave?: unknown } | undefined)?.powersave;
        if (ps === undefined) return;
        if (ps !== "none" && ps !== "min" && ps !== "max" && ps !== "ps-poll") {
          throw realm.error("Unknown powersave mode");
        }
        this.powersave = String(ps);
      },
      scan: (cb) => {
        const aps = this.linkUp
          ? [
              realm.object({
                ssid: this.ap.ssid,
                authMode: "wpa2",
                rssi: -40,
                channel: "6",
                mac: "02:00:00:00:00:01",
              }),
            ]
          : [];
        this.callback(cb, [realm.array(aps)]);
      },
      startAP: (_ssid, _opts, cb) => this.callback(cb, [null]),
      stopAP: (cb) => this.callback(cb, []),
      save: () => undefined,
      restore: () => undefined,
    });
    realm.markNative(m);
    this.attach({ realm, loop, object: m });
    return m;
  }
}
