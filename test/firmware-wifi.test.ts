import { describe, expect, it } from "vitest";
import { defaultHostname, WifiLink, type WifiOptions, type WifiState } from "../firmware/board/wifi.js";
import { FakeClock, FakeWifi } from "./support/espruino-fakes.js";

function setup(opts: Partial<WifiOptions> = {}, withWifi = true) {
  const clock = new FakeClock();
  const wifi = withWifi ? new FakeWifi(clock) : undefined;
  const logs: string[] = [];
  const states: { state: WifiState; detail: string; at: number }[] = [];
  const leds: { on: boolean; at: number }[] = [];
  const link = new WifiLink(wifi, clock, (l) => logs.push(l), {
    ssid: "studio",
    password: "secret",
    hostname: "",
    onStatus: (state, detail) => states.push({ state: state, detail: detail, at: clock.now }),
    led: (on) => leds.push({ on: on, at: clock.now }),
    ...opts,
  });
  return { clock, wifi: wifi as FakeWifi, logs, states, leds, link };
}

describe("defaultHostname", () => {
  it("is syfala- and the last 4 hex digits of the MAC address", () => {
    const w = new FakeWifi(new FakeClock());
    w.mac = "24:0A:C4:12:AB:CD";
    expect(defaultHostname(w)).toBe("syfala-abcd");
  });

  it("falls back to a stable name without a MAC address or Wifi module", () => {
    const w = new FakeWifi(new FakeClock());
    w.mac = undefined;
    expect(defaultHostname(w)).toBe("syfala");
    expect(defaultHostname(undefined)).toBe("syfala");
  });
});

describe("WifiLink", () => {
  it("without a Wifi module reports 'absent' at once and serves", () => {
    const { link, states, logs } = setup({}, false);
    link.start();
    expect(link.state).toBe("absent");
    expect(states.map((s) => s.state)).toEqual(["absent"]);
    expect(logs.join("\n")).toContain("no Wi-Fi: serving at once");
  });

  it("turns power-save off, sets the hostname from the MAC and connects with the stored credentials", () => {
    const { link, wifi } = setup();
    link.start();
    expect(wifi.configs).toEqual([{ powersave: "none" }]);
    expect(wifi.hostnames).toEqual(["syfala-abcd"]);
    expect(link.hostname).toBe("syfala-abcd");
    expect(wifi.connects).toEqual([{ ssid: "studio", password: "secret", at: 0 }]);
    expect(link.state).toBe("connecting");
  });

  it("uses the configured hostname", () => {
    const { link, wifi } = setup({ hostname: "desk-1" });
    link.start();
    expect(wifi.hostnames).toEqual(["desk-1"]);
  });

  it("reports connected once (callback and event), with the IP address, and sets the LED", () => {
    const { link, wifi, clock, states, leds } = setup();
    link.start();
    clock.advance(600); // blinking while connecting
    expect(leds.filter((l) => l.at > 0).map((l) => l.on)).toEqual([true, false]);
    wifi.succeed("192.168.1.42");
    clock.advance(0);
    expect(link.state).toBe("connected");
    expect(link.ip).toBe("192.168.1.42");
    expect(states.map((s) => s.state)).toEqual(["connecting", "connected"]);
    expect(states[1]?.detail).toBe("192.168.1.42");
    expect(leds[leds.length - 1]).toEqual({ on: true, at: 600 });
    const n = leds.length;
    clock.advance(10000);
    expect(leds.length).toBe(n); // no more blinking
    expect(wifi.hostnames.length).toBe(2); // set again once connected
  });

  it("gives up an attempt after 20 s and retries after 1 s, 2 s, 4 s... (ignoring its own disconnect)", () => {
    const { link, wifi, clock } = setup();
    link.start();
    clock.advance(19999);
    expect(wifi.disconnects).toBe(0);
    clock.advance(1); // t = 20000: timeout
    expect(wifi.disconnects).toBe(1);
    expect(link.state).toBe("disconnected");
    clock.advance(200000);
    expect(wifi.connects.map((c) => c.at).slice(0, 5)).toEqual([0, 21000, 43000, 67000, 95000]);
  });

  it("ignores a late answer to an attempt it gave up", () => {
    const { link, wifi, clock } = setup();
    link.start();
    clock.advance(20000); // timeout: retry at 21000
    wifi.badPassword(); // the driver answers the abandoned attempt
    clock.advance(0);
    expect(wifi.disconnects).toBe(1);
    expect(link.state).toBe("disconnected");
    clock.advance(1000);
    expect(wifi.connects.map((c) => c.at)).toEqual([0, 21000]);
  });

  it("caps the wait at 30 s and resets it after a connection", () => {
    const { link, wifi, clock } = setup();
    link.start();
    clock.advance(400000);
    const at = wifi.connects.map((c) => c.at);
    const waits = at.slice(1).map((t, i) => t - (at[i] as number) - 20000);
    expect(waits.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    wifi.succeed("10.0.0.2");
    clock.advance(0);
    expect(link.state).toBe("connected");
    const t = clock.now;
    wifi.drop("BEACON_TIMEOUT");
    clock.advance(0);
    expect(link.state).toBe("disconnected");
    expect(link.ip).toBe("");
    clock.advance(1000);
    expect(wifi.connects[wifi.connects.length - 1]?.at).toBe(t + 1000);
  });

  it("reconnects after a disconnection, forever, with backoff while it fails", () => {
    const { link, wifi, clock, states } = setup();
    link.start();
    wifi.succeed("10.0.0.2");
    clock.advance(0);
    wifi.drop("AUTH_EXPIRE");
    clock.advance(0);
    expect(states[states.length - 1]?.detail).toContain("AUTH_EXPIRE");
    clock.advance(999);
    expect(wifi.connects.length).toBe(1);
    clock.advance(1);
    expect(wifi.connects.length).toBe(2);
    // the driver gives up on this attempt: 'disconnected' while connecting
    wifi.drop("NO_AP_FOUND");
    clock.advance(0);
    clock.advance(1999);
    expect(wifi.connects.length).toBe(2);
    clock.advance(1);
    expect(wifi.connects.length).toBe(3);
    wifi.succeed("10.0.0.3");
    clock.advance(0);
    expect(link.ip).toBe("10.0.0.3");
    expect(link.attempts).toBe(3);
  });

  it("retries after 'Bad password' and after a DHCP timeout", () => {
    const { link, wifi, clock } = setup();
    link.start();
    wifi.badPassword();
    clock.advance(0);
    expect(link.state).toBe("disconnected");
    clock.advance(1000);
    expect(wifi.connects.length).toBe(2);
    wifi.succeed("10.0.0.9");
    clock.advance(0);
    wifi.queue("dhcp_timeout", {});
    clock.advance(0);
    expect(link.state).toBe("disconnected");
    clock.advance(1000);
    expect(wifi.connects.length).toBe(3);
  });

  it("without an SSID does not connect, but reports a network joined by other means", () => {
    const { link, wifi, clock, states } = setup({ ssid: "" });
    link.start();
    expect(link.state).toBe("absent");
    expect(wifi.connects.length).toBe(0);
    wifi.ip = "10.1.1.1";
    wifi.queue("connected", { ip: "10.1.1.1" });
    clock.advance(0);
    expect(link.state).toBe("connected");
    wifi.drop("ASSOC_LEAVE");
    clock.advance(60000);
    expect(link.state).toBe("disconnected");
    expect(wifi.connects.length).toBe(0);
    expect(states.map((s) => s.state)).toEqual(["absent", "connected", "disconnected"]);
  });

  it("never calls clearTimeout(undefined) (it throws on Espruino)", () => {
    const { link, wifi, clock } = setup();
    link.start();
    wifi.succeed("10.0.0.2");
    clock.advance(0);
    wifi.succeed("10.0.0.2"); // a repeated event while connected
    clock.advance(0);
    wifi.drop("x");
    wifi.drop("y");
    expect(() => clock.advance(100000)).not.toThrow();
  });
});
