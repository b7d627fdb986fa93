// Real sockets, on 127.0.0.0/8 only: bound to 127.0.0.x or 127.255.255.255, sending to 127.0.0.x,
// 127.255.255.255 and "localhost" (resolved as IPv4: 127.0.0.1). Waits are bounded and no
// assertion is about time.
import { afterEach, describe, expect, it } from "vitest";
import { impair } from "../host/transport/impair.js";
import { MemoryNetwork } from "../host/transport/memory.js";
import { openUdpTransport, type UdpTransport } from "../host/transport/udp.js";
import type { TransportError } from "../shared/transport.js";

const opened: UdpTransport[] = [];

async function open(options: Parameters<typeof openUdpTransport>[0]): Promise<UdpTransport> {
  const t = await openUdpTransport(options);
  opened.push(t);
  return t;
}

afterEach(() => {
  for (const t of opened) t.close();
  opened.length = 0;
});

interface Received {
  bytes: number[];
  address: string;
  port: number;
  plain: boolean;
}

function collect(t: UdpTransport): Received[] {
  const got: Received[] = [];
  t.onDatagram((data, address, port) => {
    got.push({
      bytes: [...data],
      address,
      port,
      plain: Object.getPrototypeOf(data) === Uint8Array.prototype,
    });
  });
  return got;
}

/** Polls `done` every 5 ms until it holds or `limitMs` passes; returns whether it held. */
async function waitFor(done: () => boolean, limitMs = 5000): Promise<boolean> {
  for (let waited = 0; waited < limitMs; waited += 5) {
    if (done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return done();
}

/** Lets a few event-loop turns pass (for "nothing else arrives" checks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq, true);
  return b;
}

describe("udp transport: unicast on loopback", () => {
  it("binds 127.0.0.1 on a port the OS chose and exchanges datagrams as plain Uint8Array views", async () => {
    const a = await open({ address: "127.0.0.1" });
    const b = await open({ address: "127.0.0.2" });
    expect(a.localAddress).toBe("127.0.0.1");
    expect(a.localPort).toBeGreaterThan(0);
    const got = collect(b);
    a.send(new Uint8Array([1, 2, 3]), "127.0.0.2", b.localPort);
    a.send(new Uint8Array(0), "127.0.0.2", b.localPort);
    expect(await waitFor(() => got.length === 2)).toBe(true);
    expect(got).toEqual([
      { bytes: [1, 2, 3], address: "127.0.0.1", port: a.localPort, plain: true },
      { bytes: [], address: "127.0.0.1", port: a.localPort, plain: true },
    ]);
  });

  it("reads the bytes before send returns: one buffer reused for every datagram (even without copying)", async () => {
    const a = await open({ address: "127.0.0.1", copySends: false });
    const b = await open({ address: "127.0.0.1" });
    const got = collect(b);
    const buf = new Uint8Array(16);
    for (let i = 0; i < 100; i++) {
      buf.fill(i);
      a.send(buf.subarray(2, 6), "127.0.0.1", b.localPort);
    }
    buf.fill(255);
    expect(await waitFor(() => got.length === 100)).toBe(true);
    expect(got.map((r) => r.bytes)).toEqual(Array.from({ length: 100 }, (_, i) => [i, i, i, i]));
  });

  it("copies for a host name (resolved later, through DNS) so the caller may still reuse its buffer", async () => {
    const a = await open({ address: "127.0.0.1" });
    const b = await open({ address: "127.0.0.1" });
    const got = collect(b);
    const buf = new Uint8Array([7, 7, 7]);
    a.send(buf, "localhost", b.localPort);
    buf.fill(0);
    expect(await waitFor(() => got.length === 1)).toBe(true);
    expect(got[0]!.bytes).toEqual([7, 7, 7]);
    expect(got[0]!.address).toBe("127.0.0.1");
  });

  it("copySends: true sends the same bytes", async () => {
    const a = await open({ address: "127.0.0.1", copySends: true });
    const b = await open({ address: "127.0.0.1" });
    const got = collect(b);
    const buf = new Uint8Array([4, 5]);
    a.send(buf, "127.0.0.1", b.localPort);
    buf.fill(0);
    expect(await waitFor(() => got.length === 1)).toBe(true);
    expect(got[0]!.bytes).toEqual([4, 5]);
  });
});

describe("udp transport: errors never throw", () => {
  it("rejects a second bind of a taken port with EADDRINUSE", async () => {
    const a = await open({ address: "127.0.0.1" });
    await expect(openUdpTransport({ address: "127.0.0.1", port: a.localPort })).rejects.toMatchObject({
      code: "EADDRINUSE",
    });
  });

  it("rejects bad options, naming them", async () => {
    await expect(openUdpTransport({ port: 70000 })).rejects.toThrow(/"port"/);
    await expect(openUdpTransport({ address: "localhost" })).rejects.toThrow(/"address"/);
    await expect(openUdpTransport({ address: "127.0.0.1", receiveBufferBytes: -1 })).rejects.toThrow(
      /"receiveBufferBytes"/,
    );
  });

  it("reports oversized datagrams, a bad port and broadcast without the flag to the error handler", async () => {
    const a = await open({ address: "127.0.0.1" });
    const errors: TransportError[] = [];
    a.onError((e) => errors.push(e));
    expect(() => {
      a.send(new Uint8Array(70_000), "127.0.0.1", 9);
      a.send(new Uint8Array(1), "127.0.0.1", 0);
      a.send(new Uint8Array(1), "127.255.255.255", 9);
    }).not.toThrow();
    expect(await waitFor(() => errors.length === 3)).toBe(true);
    const byCode = new Map(errors.map((e) => [e.code, e]));
    expect(byCode.get("EMSGSIZE")).toMatchObject({ operation: "send", address: "127.0.0.1", port: 9 });
    expect(byCode.get("ERR_SOCKET_BAD_PORT")).toMatchObject({
      operation: "send",
      address: "127.0.0.1",
      port: 0,
    });
    expect(byCode.get("EACCES")).toMatchObject({ operation: "send", address: "127.255.255.255", port: 9 });
  });

  it("close is idempotent; after it, send does nothing and no handler is called", async () => {
    const a = await open({ address: "127.0.0.1" });
    const b = await open({ address: "127.0.0.1" });
    const got = collect(b);
    const errors: TransportError[] = [];
    a.onError((e) => errors.push(e));
    b.close();
    b.close();
    a.close();
    a.close();
    expect(a.isClosed).toBe(true);
    expect(() => a.send(new Uint8Array([1]), "127.0.0.1", b.localPort)).not.toThrow();
    await settle();
    expect(got).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe("udp transport: broadcast on 127.255.255.255", () => {
  it("reaches every socket bound to the broadcast address and port (skipped where the kernel does not deliver it)", async (ctx) => {
    const r1 = await open({ address: "127.255.255.255", reuseAddr: true });
    const r2 = await open({ address: "127.255.255.255", port: r1.localPort, reuseAddr: true });
    const tx = await open({ address: "127.0.0.1", broadcast: true });
    const got1 = collect(r1);
    const got2 = collect(r2);
    const errors: TransportError[] = [];
    tx.onError((e) => errors.push(e));
    tx.send(new Uint8Array([0xb0]), "127.255.255.255", r1.localPort);
    const arrived = await waitFor(() => got1.length + got2.length > 0 || errors.length > 0, 1000);
    if (!arrived || errors.length > 0) {
      const why =
        errors.length > 0 ? `the send failed with ${errors[0]!.code}` : "nothing arrived within 1 s";
      ctx.skip(`broadcast on 127.255.255.255 does not work on this machine (${why})`);
    }
    expect(await waitFor(() => got1.length === 1 && got2.length === 1)).toBe(true);
    expect(got1[0]).toEqual({ bytes: [0xb0], address: "127.0.0.1", port: tx.localPort, plain: true });
    expect(got2[0]).toEqual(got1[0]);
  });
});

describe("udp transport under the impairment layer", () => {
  it("drops exactly the datagrams the same seed drops on the memory network", async () => {
    const options = { seed: 77, loss: 0.3, burstStart: 0.05, delayMs: 1, jitterMs: 2 };
    const n = 200;

    // The memory network's run says which datagrams this seed loses.
    const net = new MemoryNetwork();
    const m = impair(net.createTransport("127.0.0.1", 5000), { ...options, schedule: net.schedule });
    const mrx = net.createTransport("127.0.0.2", 6000);
    const expected = new Set<number>();
    mrx.onDatagram((d) => expected.add(new DataView(d.buffer, d.byteOffset).getUint32(0, true)));
    for (let i = 0; i < n; i++) m.send(seqBytes(i), "127.0.0.2", 6000);
    net.runUntilIdle();

    // The same over real sockets, with setTimeout as the scheduler.
    const inner = await open({ address: "127.0.0.1" });
    const rx = await open({ address: "127.0.0.2" });
    const tx = impair(inner, options);
    const got = new Set<number>();
    rx.onDatagram((d) => got.add(new DataView(d.buffer, d.byteOffset).getUint32(0, true)));
    for (let i = 0; i < n; i++) tx.send(seqBytes(i), "127.0.0.2", rx.localPort);
    expect(await waitFor(() => got.size === expected.size && tx.held === 0)).toBe(true);
    await settle();
    expect([...got].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    expect(tx.stats.send.dropped).toBe(n - expected.size);
    expect(tx.stats.send.delivered).toBe(expected.size);
    tx.close();
    expect(inner.isClosed).toBe(true);
  });
});
