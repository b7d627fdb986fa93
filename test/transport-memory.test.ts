import { describe, expect, it } from "vitest";
import { MemoryNetwork } from "../host/transport/memory.js";
import type { TransportError } from "../shared/transport.js";

interface Arrival {
  bytes: number[];
  address: string;
  port: number;
  atMs: number;
}

function recorder(network: MemoryNetwork): {
  arrivals: Arrival[];
  handler: (data: Uint8Array, address: string, port: number) => void;
} {
  const arrivals: Arrival[] = [];
  return {
    arrivals,
    handler: (data, address, port) => {
      arrivals.push({ bytes: [...data], address, port, atMs: network.nowMs });
    },
  };
}

describe("memory network: unicast", () => {
  it("delivers to the bound address and port, with the sender's address, only when the clock runs", () => {
    const net = new MemoryNetwork();
    const a = net.createTransport("127.0.0.1", 5000);
    const b = net.createTransport("127.0.0.2", 6910);
    const rb = recorder(net);
    b.onDatagram(rb.handler);
    a.send(new Uint8Array([1, 2, 3]), "127.0.0.2", 6910);
    expect(rb.arrivals).toEqual([]);
    expect(net.pending).toBe(1);
    expect(net.runUntilIdle()).toBe(1);
    expect(rb.arrivals).toEqual([{ bytes: [1, 2, 3], address: "127.0.0.1", port: 5000, atMs: 0 }]);
    expect(net.stats).toEqual({ sent: 1, delivered: 1, unroutable: 0 });
  });

  it("copies on send: the sender may reuse its buffer at once", () => {
    const net = new MemoryNetwork();
    const a = net.createTransport("127.0.0.1", 5000);
    const b = net.createTransport("127.0.0.1", 5001);
    const rb = recorder(net);
    b.onDatagram(rb.handler);
    const buf = new Uint8Array([9, 8, 7, 6]);
    a.send(buf.subarray(1, 3), "127.0.0.1", 5001);
    buf.fill(0);
    net.runUntilIdle();
    expect(rb.arrivals.map((x) => x.bytes)).toEqual([[8, 7]]);
  });

  it("delivers after the configured latency, in send order at equal times", () => {
    const net = new MemoryNetwork({ latencyMs: 7 });
    const a = net.createTransport("127.0.0.1", 5000);
    const b = net.createTransport("127.0.0.1", 5001);
    const rb = recorder(net);
    b.onDatagram(rb.handler);
    for (let i = 0; i < 5; i++) a.send(new Uint8Array([i]), "127.0.0.1", 5001);
    net.advanceTo(6);
    expect(rb.arrivals).toEqual([]);
    net.advanceTo(7);
    expect(rb.arrivals.map((x) => x.bytes[0])).toEqual([0, 1, 2, 3, 4]);
    expect(rb.arrivals.every((x) => x.atMs === 7)).toBe(true);
    expect(net.nowMs).toBe(7);
  });

  it("drops (and counts) datagrams to nobody, and to a transport closed while they were in flight", () => {
    const net = new MemoryNetwork({ latencyMs: 1 });
    const a = net.createTransport("127.0.0.1", 5000);
    const b = net.createTransport("127.0.0.1", 5001);
    const rb = recorder(net);
    b.onDatagram(rb.handler);
    a.send(new Uint8Array([1]), "127.0.0.1", 5999);
    a.send(new Uint8Array([2]), "127.0.0.1", 5001);
    b.close();
    net.runUntilIdle();
    expect(rb.arrivals).toEqual([]);
    expect(net.stats).toEqual({ sent: 2, delivered: 0, unroutable: 2 });
  });

  it("lets a handler answer at once without re-entering the sender", () => {
    const net = new MemoryNetwork({ latencyMs: 2 });
    const client = net.createTransport("127.0.0.1", 5000);
    const server = net.createTransport("127.0.0.2", 6910);
    server.onDatagram((data, address, port) => server.send(data, address, port));
    const rc = recorder(net);
    client.onDatagram(rc.handler);
    client.send(new Uint8Array([42]), "127.0.0.2", 6910);
    net.runUntilIdle();
    expect(rc.arrivals).toEqual([{ bytes: [42], address: "127.0.0.2", port: 6910, atMs: 4 }]);
  });
});

describe("memory network: broadcast", () => {
  it("reaches every transport bound on the port (sender included), each with its own copy", () => {
    const net = new MemoryNetwork();
    const client = net.createTransport("127.0.0.1", 6910);
    const s1 = net.createTransport("127.0.0.2", 6910);
    const s2 = net.createTransport("127.0.0.3", 6910);
    const other = net.createTransport("127.0.0.4", 7000);
    const seen: string[] = [];
    for (const t of [client, s1, s2, other]) {
      t.onDatagram((data, address, port) => {
        seen.push(`${t.localAddress}<-${address}:${port}:${data[0]}`);
        data[0] = 0; // scribbling on one copy must not show in the others
      });
    }
    client.send(new Uint8Array([5]), "127.255.255.255", 6910);
    net.runUntilIdle();
    expect(seen.sort()).toEqual([
      "127.0.0.1<-127.0.0.1:6910:5",
      "127.0.0.2<-127.0.0.1:6910:5",
      "127.0.0.3<-127.0.0.1:6910:5",
    ]);
    expect(net.stats).toEqual({ sent: 1, delivered: 3, unroutable: 0 });
  });
});

describe("memory network: binding, errors, close", () => {
  it("hands out free ports for port 0 and refuses a taken address and port", () => {
    const net = new MemoryNetwork();
    const a = net.createTransport("127.0.0.1", 0);
    const b = net.createTransport("127.0.0.1", 0);
    expect(a.localPort).toBeGreaterThanOrEqual(49152);
    expect(b.localPort).not.toBe(a.localPort);
    expect(() => net.createTransport("127.0.0.1", a.localPort)).toThrow(/EADDRINUSE/);
    expect(() => net.createTransport("127.0.0.1", 70000)).toThrow(/"port"/);
    a.close();
    expect(net.createTransport("127.0.0.1", a.localPort).localPort).toBe(a.localPort);
  });

  it("reports an oversized datagram and a bad port to the error handler instead of throwing", () => {
    const net = new MemoryNetwork({ maxDatagramBytes: 100 });
    const a = net.createTransport("127.0.0.1", 5000);
    const errors: TransportError[] = [];
    a.onError((e) => errors.push(e));
    a.send(new Uint8Array(101), "127.0.0.1", 5001);
    a.send(new Uint8Array(1), "127.0.0.1", 0);
    expect(errors.map((e) => [e.operation, e.code, e.address, e.port])).toEqual([
      ["send", "EMSGSIZE", "127.0.0.1", 5001],
      ["send", "ERR_SOCKET_BAD_PORT", "127.0.0.1", 0],
    ]);
    expect(net.stats.sent).toBe(0);
  });

  it("does nothing after close, and close is idempotent", () => {
    const net = new MemoryNetwork();
    const a = net.createTransport("127.0.0.1", 5000);
    a.close();
    a.close();
    a.send(new Uint8Array([1]), "127.0.0.1", 5000);
    expect(net.pending).toBe(0);
    expect(a.isClosed).toBe(true);
  });
});

describe("memory network: virtual clock", () => {
  it("runs scheduled callbacks and deliveries in time order, first in first out at equal times", () => {
    const net = new MemoryNetwork({ latencyMs: 5 });
    const a = net.createTransport("127.0.0.1", 5000);
    const order: string[] = [];
    a.onDatagram((data) => order.push(`datagram ${data[0]} at ${net.nowMs}`));
    net.schedule(() => order.push(`timer A at ${net.nowMs}`), 5);
    a.send(new Uint8Array([1]), "127.0.0.1", 5000);
    net.schedule(() => order.push(`timer B at ${net.nowMs}`), 3);
    net.schedule(() => {
      order.push(`timer C at ${net.nowMs}`);
      net.schedule(() => order.push(`timer D at ${net.nowMs}`), 0);
    }, 10);
    expect(net.advanceTo(10)).toBe(5);
    expect(order).toEqual([
      "timer B at 3",
      "timer A at 5",
      "datagram 1 at 5",
      "timer C at 10",
      "timer D at 10",
    ]);
  });

  it("advanceBy moves the clock by a duration and refuses to go back", () => {
    const net = new MemoryNetwork();
    net.advanceBy(12.5);
    expect(net.nowMs).toBe(12.5);
    expect(() => net.advanceTo(3)).toThrow(RangeError);
  });

  it("turns a callback that keeps re-scheduling itself into an error, not a hung test", () => {
    const net = new MemoryNetwork({ maxEventsPerRun: 1000 });
    const again = (): void => net.schedule(again, 0);
    net.schedule(again, 0);
    expect(() => net.runUntilIdle()).toThrow(/still busy after 1000 events/);
  });

  it("keeps many events in due order (heap against a sorted copy)", () => {
    const net = new MemoryNetwork();
    const dues: number[] = [];
    const seen: number[] = [];
    let x = 12345;
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const due = x % 500;
      dues.push(due);
      net.schedule(() => seen.push(net.nowMs), due);
    }
    net.runUntilIdle();
    expect(seen).toEqual([...dues].sort((p, q) => p - q));
  });
});
