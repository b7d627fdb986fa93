import { describe, expect, it } from "vitest";
import { EspruinoUdp } from "../firmware/board/udp.js";
import { bytesOf, FakeClock, FakeDgram, FakeE } from "./support/espruino-fakes.js";

function setup(port = 6910) {
  const clock = new FakeClock();
  const dgram = new FakeDgram(clock);
  const E = new FakeE();
  const logs: string[] = [];
  const udp = new EspruinoUdp({ dgram: dgram, E: E, timers: clock, log: (l) => logs.push(l) }, port);
  const received: { data: number[]; address: string; port: number }[] = [];
  udp.onDatagram((data, address, p) => received.push({ data: Array.from(data), address: address, port: p }));
  return { clock, dgram, E, logs, udp, received };
}

function bytes(n: number, seed: number): Uint8Array {
  const u = new Uint8Array(n);
  for (let i = 0; i < n; i++) u[i] = (i * 131 + seed * 17 + (i >> 8)) & 0xff;
  return u;
}

describe("the fakes follow ESPRUINO.md", () => {
  it("truncates datagrams to 528 bytes without recvBufferSize", () => {
    const clock = new FakeClock();
    const dgram = new FakeDgram(clock);
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true } as never);
    s.bind(7000);
    const got: string[] = [];
    s.on("message", (m) => got.push(m));
    dgram.deliver(7000, bytes(1472, 1), "127.0.0.1", 5000);
    expect(got[0]?.length).toBe(528);
  });

  it("sends a typed array as its text", () => {
    const clock = new FakeClock();
    const dgram = new FakeDgram(clock);
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true, recvBufferSize: 2000 });
    s.bind(7000);
    (s.send as (d: unknown, p: number, a: string) => void)(new Uint8Array([0, 128, 255]), 9, "127.0.0.1");
    expect(dgram.sent[0]?.text).toBe("0,128,255");
  });

  it("throws on a failed bind and still calls its callback", () => {
    const clock = new FakeClock();
    const dgram = new FakeDgram(clock);
    dgram.failBinds = 1;
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true, recvBufferSize: 2000 });
    let called = 0;
    expect(() => s.bind(7000, () => called++)).toThrow();
    clock.advance(0);
    expect(called).toBe(1);
  });
});

describe("EspruinoUdp", () => {
  it("binds the configured port with reuseAddr and a receive buffer for 1472-byte datagrams", () => {
    const { dgram } = setup(7123);
    expect(dgram.sockets.length).toBe(1);
    const s = dgram.sockets[0];
    expect(s?.state).toBe("bound");
    expect(s?.port).toBe(7123);
    expect(s?.options.reuseAddr).toBe(true);
    expect(s?.options.recvBufferSize).toBeGreaterThanOrEqual(1472 + 8);
  });

  it("receives a full 1472-byte datagram whole, as bytes", () => {
    const { dgram, received } = setup();
    const d = bytes(1472, 3);
    expect(dgram.deliver(6910, d, "127.0.0.5", 40000)).toBe(true);
    expect(received.length).toBe(1);
    expect(received[0]?.data).toEqual(Array.from(d));
    expect(received[0]?.address).toBe("127.0.0.5");
    expect(received[0]?.port).toBe(40000);
  });

  it("sends a prefix of a whole transmit buffer from its aliasing string (no copy of ours)", () => {
    const { dgram, E, udp } = setup();
    const buf = bytes(1472, 7);
    const expected = Array.from(buf.subarray(0, 105));
    udp.send(buf, 105, "127.0.0.9", 6000);
    buf.fill(0); // the caller reuses its buffer at once
    expect(dgram.sent.length).toBe(1);
    expect(Array.from(bytesOf(dgram.sent[0]?.text ?? ""))).toEqual(expected);
    expect(dgram.sent[0]?.port).toBe(6000);
    expect(dgram.sent[0]?.address).toBe("127.0.0.9");
    expect(E.partialViews).toBe(0);
    expect(E.wholeViews).toBe(1);
    expect(udp.stats.sent).toBe(1);
  });

  it("sends a subarray as exactly its bytes (a copy: only whole arrays alias)", () => {
    const { dgram, udp } = setup();
    const buf = bytes(1472, 7);
    udp.send(buf.subarray(5, 105), 100, "127.0.0.9", 6000);
    expect(Array.from(bytesOf(dgram.sent[0]?.text ?? ""))).toEqual(
      Array.from(bytes(1472, 7).subarray(5, 105)),
    );
  });

  it("reads the socket's send queue length (Espruino's dSnd), 0 when empty or closed", () => {
    const { dgram, udp } = setup();
    expect(udp.queuedBytes()).toBe(0);
    const s = dgram.sockets[0] as (typeof dgram.sockets)[number];
    s.dSnd = "x".repeat(2 * 537);
    expect(udp.queuedBytes()).toBe(1074);
    s.dSnd = "";
    expect(udp.queuedBytes()).toBe(0);
    udp.close();
    expect(udp.queuedBytes()).toBe(0);
  });

  it("sends from several buffers in turn correctly", () => {
    const { dgram, udp } = setup();
    const a = bytes(64, 1);
    const b = bytes(32, 2);
    udp.send(a.subarray(0, 10), 10, "127.0.0.1", 1);
    udp.send(b.subarray(3, 8), 5, "127.0.0.1", 2);
    udp.send(a, a.length, "127.0.0.1", 3);
    expect(dgram.sent.map((s) => Array.from(bytesOf(s.text)))).toEqual([
      Array.from(a.subarray(0, 10)),
      Array.from(b.subarray(3, 8)),
      Array.from(a),
    ]);
  });

  it("reopens exactly one socket after a zero-length datagram closes it ('close' fires twice)", () => {
    const { clock, dgram, received, logs } = setup();
    dgram.deliver(6910, new Uint8Array(0), "127.0.0.2", 1234);
    clock.advance(10);
    expect(dgram.sockets.length).toBe(2);
    expect(dgram.sockets[0]?.state).toBe("closed");
    expect(dgram.sockets[1]?.state).toBe("bound");
    expect(dgram.sockets[1]?.port).toBe(6910);
    expect(logs).toEqual(["udp: closed; reopen in 0 ms"]);
    clock.advance(1000);
    expect(dgram.sockets.length).toBe(2);
    dgram.deliver(6910, bytes(20, 4), "127.0.0.2", 1234);
    expect(received.length).toBe(1);
    // and again: a second attack is survived the same way
    dgram.deliver(6910, new Uint8Array(0), "127.0.0.2", 1234);
    clock.advance(10);
    expect(dgram.sockets.length).toBe(3);
    expect(dgram.sockets[2]?.state).toBe("bound");
    expect(logs.length).toBe(2);
  });

  it("drops and counts a send while no socket is open", () => {
    const { clock, dgram, udp } = setup();
    dgram.failBinds = 1;
    dgram.deliver(6910, new Uint8Array(0), "127.0.0.2", 1234);
    clock.advance(0); // closed, and the reopen failed: retry in 250 ms
    udp.send(bytes(10, 1), 10, "127.0.0.3", 5);
    expect(dgram.sent.length).toBe(0);
    expect(udp.stats.sent).toBe(0);
    clock.advance(250);
    udp.send(bytes(10, 1), 10, "127.0.0.3", 5);
    expect(dgram.sent.length).toBe(1);
    expect(dgram.sent[0]?.socket).toBe(dgram.sockets[2]);
  });

  it("retries a failed bind with a doubling backoff, logging each failure", () => {
    const clock = new FakeClock();
    const dgram = new FakeDgram(clock);
    dgram.failBinds = 3;
    const logs: string[] = [];
    new EspruinoUdp({ dgram: dgram, E: new FakeE(), timers: clock, log: (l) => logs.push(l) }, 6910);
    expect(dgram.sockets.length).toBe(1);
    expect(dgram.boundTo(6910)).toBeUndefined();
    clock.advance(249);
    expect(dgram.sockets.length).toBe(1);
    clock.advance(1); // t = 250: second attempt
    expect(dgram.sockets.length).toBe(2);
    clock.advance(499); // t = 749
    expect(dgram.sockets.length).toBe(2);
    clock.advance(1); // t = 750: third attempt
    expect(dgram.sockets.length).toBe(3);
    clock.advance(1000); // t = 1750: fourth attempt succeeds
    expect(dgram.sockets.length).toBe(4);
    expect(dgram.boundTo(6910)).toBe(dgram.sockets[3]);
    expect(logs.filter((l) => l.startsWith("udp: bind 6910: ")).length).toBe(3);
    expect(logs[2]).toMatch(/; reopen in 1000 ms$/);
    expect(dgram.sockets.slice(0, 3).map((s) => s.state)).toEqual(["closed", "closed", "closed"]);
    clock.advance(60000);
    expect(dgram.sockets.length).toBe(4);
  });

  it("drops a send that throws, uncounted, and keeps working", () => {
    const { dgram, udp } = setup();
    dgram.failSends = 1;
    udp.send(bytes(10, 1), 10, "127.0.0.4", 99);
    expect(udp.stats.sent).toBe(0);
    udp.send(bytes(10, 1), 10, "127.0.0.4", 99);
    expect(dgram.sent.length).toBe(1);
    expect(udp.stats.sent).toBe(1);
  });

  it("counts received datagrams, with or without a handler", () => {
    const { dgram, udp, received } = setup();
    udp.onDatagram(null);
    dgram.deliver(6910, bytes(3, 1), "127.0.0.1", 1);
    expect(received.length).toBe(0);
    expect(udp.stats.received).toBe(1);
  });

  it("close() is final and idempotent: no reopen, no retry, no handler afterwards", () => {
    const { clock, dgram, udp, received } = setup();
    udp.close();
    udp.close();
    clock.advance(10000);
    expect(dgram.sockets.length).toBe(1);
    expect(dgram.sockets[0]?.state).toBe("closed");
    expect(dgram.deliver(6910, bytes(4, 1), "127.0.0.1", 1)).toBe(false);
    expect(received.length).toBe(0);
    udp.send(bytes(4, 1), 4, "127.0.0.1", 1);
    expect(dgram.sent.length).toBe(0);
  });

  it("close() cancels a pending bind retry", () => {
    const clock = new FakeClock();
    const dgram = new FakeDgram(clock);
    dgram.failBinds = 1;
    const udp = new EspruinoUdp({ dgram: dgram, E: new FakeE(), timers: clock, log: () => {} }, 6910);
    udp.close();
    clock.advance(10000);
    expect(dgram.sockets.length).toBe(1);
  });
});
