/**
 * An emulated `Wifi` module for the real Espruino interpreter's Linux build, where
 * `require("Wifi")` throws: JavaScript source that registers one with
 * `Modules.addCached("Wifi", function(){...})`, so that the firmware's Wi-Fi path
 * (firmware/board/wifi.ts) runs there as on an ESP32. Only the emulator adds it (never a board).
 *
 * The module has what firmware/board/espruino.ts's `WifiModule` describes, behaving like ESP32's:
 * - `connect(ssid, {password}, cb)`: with the access point's ssid and password, after
 *   `connectDelayMs` the station is up: 'connected' `{ip, netmask, gw}` is emitted and
 *   `cb(null)` called; a wrong password gives `cb("Bad password")` (ESP32 reports only that);
 *   an unknown ssid gives, after `connectDelayMs`, 'disconnected' `{reason:"201",
 *   msg:"no_ap_found"}` and no callback (ESP32 retries silently);
 * - `disconnect([cb])`: the station goes down, 'disconnected' `{reason:"8", msg:"assoc_leave"}`;
 * - `getIP([cb])`: `{ip, netmask, gw, mac}` at once (`mac` always, the rest "0.0.0.0" while not
 *   connected), and also through `cb(null, info)` on the next turn;
 * - `setHostname(name)`, `getHostname([cb])`, `setConfig(settings)`, `getStatus()`;
 * - `_drop()` / `_restore()` for tests: the access point disappears ('disconnected'
 *   `{reason:"200", msg:"beacon_timeout"}`) and comes back (the next connect succeeds). Sockets
 *   keep working meanwhile: the interpreter's network is the host's.
 *
 * The code is old-style JavaScript for Espruino (no arrows, no `let` in loops), one line per
 * statement, comments outside it.
 */

/** The emulated access point and the address the station gets. */
export interface EmulatedWifi {
  /** The access point's network name and password. */
  readonly ssid: string;
  readonly password: string;
  /** The station's address once connected. Defaults to "127.0.0.1" (the interpreter serves on every interface). */
  readonly ip?: string;
  /** The station's MAC address ("aa:bb:cc:dd:ee:ff"). Defaults to "5e:5f:a1:a0:00:01". */
  readonly mac?: string;
  /** Time from connect() to the connection, in ms. Defaults to 50. */
  readonly connectDelayMs?: number;
}

/** The JavaScript source that registers the emulated Wifi module (run it before the firmware). */
export function wifiPrelude(w: EmulatedWifi): string {
  const s = (v: string): string => JSON.stringify(v);
  const ip = w.ip ?? "127.0.0.1";
  const mac = w.mac ?? "5e:5f:a1:a0:00:01";
  const delay = Math.max(0, Math.round(w.connectDelayMs ?? 50));
  return `Modules.addCached("Wifi", function () {
var AP = {ssid: ${s(w.ssid)}, password: ${s(w.password)}, up: true};
var NONE = "0.0.0.0";
var st = {on: false, ssid: "", host: "", timer: undefined};
function info() { return st.on ? {ip: ${s(ip)}, netmask: "255.0.0.0", gw: "127.0.0.1", mac: ${s(mac)}} : {ip: NONE, netmask: NONE, gw: NONE, mac: ${s(mac)}}; }
function cancel() { if (st.timer !== undefined) clearTimeout(st.timer); st.timer = undefined; }
function down(reason, msg) { var was = st.ssid; st.on = false; exports.emit("disconnected", {ssid: was, mac: ${s(mac)}, reason: reason, msg: msg}); }
exports.connect = function (ssid, opts, cb) {
  cancel();
  var pw = opts && opts.password ? opts.password : "";
  if (ssid === AP.ssid && AP.up && pw !== AP.password) { if (cb) setTimeout(function () { cb("Bad password"); }, 0); return; }
  st.ssid = ssid;
  st.timer = setTimeout(function () {
    st.timer = undefined;
    if (ssid !== AP.ssid || !AP.up) { down("201", "no_ap_found"); return; }
    st.on = true;
    var i = info();
    exports.emit("connected", {ip: i.ip, netmask: i.netmask, gw: i.gw});
    if (cb) cb(null);
  }, ${delay});
};
exports.disconnect = function (cb) { cancel(); if (st.on) down("8", "assoc_leave"); if (cb) setTimeout(cb, 0); };
exports.getIP = function (cb) { var i = info(); if (cb) setTimeout(function () { cb(null, i); }, 0); return i; };
exports.setHostname = function (name) { st.host = name; };
exports.getHostname = function (cb) { if (cb) setTimeout(function () { cb(st.host); }, 0); return st.host; };
exports.setConfig = function (settings) {};
exports.getStatus = function () { return {station: st.on ? "connected" : "off", ap: "disabled", powersave: "none"}; };
exports._drop = function () { AP.up = false; cancel(); if (st.on) down("200", "beacon_timeout"); };
exports._restore = function () { AP.up = true; };
});
`;
}
