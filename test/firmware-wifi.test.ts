import { describe, expect, it } from "vitest";
import { WifiLink, type WifiOptions } from "../firmware/board/wifi.js";
import { FakeClock, FakeWifi } from "./support/espruino-fakes.js";

function setup(opts: Partial<WifiOptions> = {}, withWifi = true) {
  const clock = new FakeClock();
  const wifi = withWifi ? new FakeWifi(clock) : undefined;
  const logs: string[] = [];
  const leds: { on: boolean; at: number }[] = [];
  const link = new WifiLink(wifi, clock, (l) => logs.push(l), {
    ssid: "studio",
    password: "secret",
    hostname: "",
    led: (on) => leds.push({ on: on, at: clock.now }),
    ...opts,
  });
  return { clock, wifi: wifi as FakeWifi, logs, leds, link };
}

/** Times (ms) of the connection attempts so far. */
function attemptTimes(wifi: FakeWifi): number[] {
  return wifi.connects.map((c) => c.at);
}

describe("WifiLink", () => {
  it("without a Wifi module reports 'absent' at once", () => {
    const { link, logs, leds } = setup({}, false);
    link.start();
    expect(link.state).toBe("absent");
    expect(logs).toEqual(["wifi: absent no Wifi"]);
    expect(leds.map((l) => l.on)).toEqual([false]);
  });

  it("without an ssid leaves the radio alone and reports 'absent'", () => {
    const { link, wifi, clock, logs } = setup({ ssid: "" });
    link.start();
    clock.advance(100000);
    expect(link.state).toBe("absent");
    expect(wifi.connects).toEqual([]);
    expect(wifi.configs).toEqual([]);
    expect(logs).toEqual(["wifi: absent no ssid"]);
  });

  it("turns power-save off, sets the hostname from the MAC and connects with the stored credentials", () => {
    const { link, wifi } = setup();
    link.start();
    expect(wifi.configs).toEqual([{ powersave: "none" }]);
    expect(wifi.hostnames).toEqual(["syfala-abcd"]);
    expect(wifi.connects).toEqual([{ ssid: "studio", password: "secret", at: 0 }]);
    expect(link.state).toBe("connecting");
  });

  it("names the board syfala- and the last 4 hex digits of its MAC address", () => {
    const { link, wifi, logs } = setup();
    wifi.mac = "24:0a:c4:12:9f:0e";
    link.start();
    expect(wifi.hostnames).toEqual(["syfala-9f0e"]);
    expect(logs).toEqual(["wifi: connecting studio"]);
  });

  it("without a MAC address keeps the driver's hostname, says so and still connects", () => {
    const { link, wifi, logs } = setup();
    wifi.mac = undefined;
    link.start();
    expect(wifi.hostnames).toEqual([]);
    expect(wifi.configs).toEqual([{ powersave: "none" }]);
    expect(logs[0]).toMatch(/^wifi: /);
    expect(link.state).toBe("connecting");
  });

  it("uses the configured hostname", () => {
    const { link, wifi } = setup({ hostname: "desk-1" });
    link.start();
    expect(wifi.hostnames).toEqual(["desk-1"]);
  });

  it("reports connected once (callback and event), with the IP address, and lights the LED", () => {
    const { link, wifi, clock, logs, leds } = setup();
    link.start();
    clock.advance(600);
    expect(leds.map((l) => l.on)).toEqual([false]);
    wifi.succeed("192.168.1.42");
    clock.advance(0);
    expect(link.state).toBe("connected");
    expect(logs.filter((l) => l.startsWith("wifi: connected"))).toEqual(["wifi: connected 192.168.1.42"]);
    expect(leds).toEqual([
      { on: false, at: 0 },
      { on: true, at: 600 },
    ]);
    // power save and hostname set again once connected (before, they may not take)
    expect(wifi.hostnames).toEqual(["syfala-abcd", "syfala-abcd"]);
    expect(wifi.configs.length).toBe(2);
    clock.advance(100000);
    expect(wifi.connects.length).toBe(1); // no timeout, no retry
  });

  it("gives up an attempt after 20 s and retries after 1 s, 2 s, 4 s... (ignoring its own disconnect)", () => {
    const { link, wifi, clock, logs } = setup();
    link.start();
    clock.advance(19999);
    expect(wifi.disconnects).toBe(0);
    clock.advance(1); // t = 20000: timeout
    expect(wifi.disconnects).toBe(1);
    expect(link.state).toBe("disconnected");
    expect(logs[logs.length - 1]).toBe("wifi: disconnected timeout, retry in 1000 ms");
    clock.advance(200000);
    expect(attemptTimes(wifi).slice(0, 5)).toEqual([0, 21000, 43000, 67000, 95000]);
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
    expect(attemptTimes(wifi)).toEqual([0, 21000]);
  });

  it("caps the wait at 30 s and resets it after a connection", () => {
    const { link, wifi, clock, leds } = setup();
    link.start();
    clock.advance(400000);
    const at = attemptTimes(wifi);
    const waits = at.slice(1).map((t, i) => t - (at[i] as number) - 20000);
    expect(waits.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    wifi.succeed("10.0.0.2");
    clock.advance(0);
    expect(link.state).toBe("connected");
    const t = clock.now;
    wifi.drop("BEACON_TIMEOUT");
    clock.advance(0);
    expect(link.state).toBe("disconnected");
    expect(leds[leds.length - 1]).toEqual({ on: false, at: t });
    clock.advance(1000);
    expect(wifi.connects[wifi.connects.length - 1]?.at).toBe(t + 1000);
  });

  it("reconnects after a disconnection, forever, with backoff while it fails", () => {
    const { link, wifi, clock, logs } = setup();
    link.start();
    wifi.succeed("10.0.0.2");
    clock.advance(0);
    wifi.drop("AUTH_EXPIRE");
    clock.advance(0);
    expect(logs[logs.length - 1]).toBe("wifi: disconnected lost AUTH_EXPIRE, retry in 1000 ms");
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
    expect(link.state).toBe("connected");
    expect(logs[logs.length - 1]).toBe("wifi: connected 10.0.0.3");
    // an access point gone for good: still trying an hour later, one attempt per 50 s at most
    wifi.drop("x");
    clock.advance(3600000);
    const last = wifi.connects[wifi.connects.length - 1]?.at as number;
    expect(clock.now - last).toBeLessThanOrEqual(50000);
    expect(wifi.connects.length).toBeGreaterThan(60);
    expect(wifi.connects.length).toBeLessThan(80);
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

  it("retries when connect throws, and start() does not throw", () => {
    const { link, wifi, clock } = setup();
    let throws = 1;
    const connect = wifi.connect.bind(wifi);
    wifi.connect = (ssid, options, cb) => {
      connect(ssid, options, cb);
      if (throws-- > 0) throw new Error("radio busy");
    };
    expect(() => link.start()).not.toThrow();
    expect(link.state).toBe("disconnected");
    clock.advance(1000);
    expect(wifi.connects.length).toBe(2);
    expect(link.state).toBe("connecting");
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
