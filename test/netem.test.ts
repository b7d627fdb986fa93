/**
 * The UDP impairment proxy (host/netem/proxy.ts) with real sockets on 127.0.0.1: seeded loss
 * within a binomial bound, duplication counted, the rate limit by count, and a real session
 * through it to an emulated board running the firmware. UDP ports 52000-52099 belong to this file
 * (the proxy's upstream sockets and the clients use OS-chosen ephemeral ports).
 */
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../host/cli/main.js";
import type { Io } from "../host/cli/usage.js";
import { runSession } from "../host/client/session.js";
import type { Lan } from "../host/emulator/index.js";
import { startNetem, TokenBucket } from "../host/netem/proxy.js";
import { firmwareBoards } from "./support/client-boards.js";

const HOST = "127.0.0.1";
const ECHO_PORT = 52000;
const BOARD_PORT = 52010;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A UDP echo server on 127.0.0.1 counting what it received. */
interface Echo {
  received: number;
  close(): Promise<void>;
}

async function startEcho(port: number): Promise<Echo> {
  const socket = dgram.createSocket("udp4");
  const echo: Echo = {
    received: 0,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on("message", (msg, rinfo) => {
    echo.received++;
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(port, HOST, () => r()));
  return echo;
}

/** A client socket that sends `count` numbered datagrams in small paced batches and counts answers. */
async function pump(
  to: { address: string; port: number },
  count: number,
  settleMs = 300,
): Promise<{ answers: number; distinct: number }> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  let answers = 0;
  const seen = new Set<number>();
  socket.on("message", (msg) => {
    answers++;
    seen.add(msg.readUInt32BE(0));
  });
  for (let i = 0; i < count; i++) {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(i, 0);
    socket.send(b, to.port, to.address);
    // Pace so that no socket buffer on loopback overflows (that loss would not be the proxy's).
    if (i % 10 === 9) await sleep(1);
  }
  await sleep(settleMs);
  await new Promise<void>((r) => socket.close(() => r()));
  return { answers, distinct: seen.size };
}

/** |x - n p| within 5 standard deviations of a binomial(n, p) count. */
function withinBinomial(x: number, n: number, p: number): boolean {
  return Math.abs(x - n * p) <= 5 * Math.sqrt(n * p * (1 - p)) + 1;
}

describe("TokenBucket", () => {
  it("lets through the burst, then exactly the rate, on a hand-driven clock", () => {
    let t = 0;
    const bucket = new TokenBucket(100, 10, () => t);
    let passed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take()) passed++;
    expect(passed).toBe(10);
    // One second later: 100 more tokens, capped at the bucket's 10.
    t = 1000;
    passed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take()) passed++;
    expect(passed).toBe(10);
    // 1 ms steps at 100/s: one token every 10 ms, 100 in the second.
    passed = 0;
    for (let i = 0; i < 1000; i++) {
      t += 1;
      if (bucket.take()) passed++;
    }
    expect(passed).toBe(100);
  });

  it("refuses a bad rate or capacity", () => {
    expect(() => new TokenBucket(0, 1, () => 0)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0.5, () => 0)).toThrow(RangeError);
  });
});

describe("netem proxy over UDP on 127.0.0.1", () => {
  let echo: Echo;
  beforeAll(async () => {
    echo = await startEcho(ECHO_PORT);
  });
  afterAll(async () => {
    await echo.close();
  });

  it("drops the seeded share both ways, within a binomial bound, and counts it", async () => {
    echo.received = 0;
    const proxy = await startNetem({
      listen: { address: HOST, port: 52001 },
      target: { address: HOST, port: ECHO_PORT },
      upstreamAddress: HOST,
      profile: { loss: 0.1 },
      seed: 7,
    });
    const n = 2000;
    const r = await pump(proxy.listen, n);
    const s = proxy.stats();
    proxy.close();
    expect(s.upstream.received).toBe(n);
    expect(s.upstream.impairment.sent).toBe(n);
    expect(withinBinomial(s.upstream.impairment.dropped, n, 0.1)).toBe(true);
    // What the echo saw is what the proxy delivered.
    expect(echo.received).toBe(n - s.upstream.impairment.dropped);
    expect(s.upstream.impairment.delivered).toBe(echo.received);
    expect(s.downstream.received).toBe(echo.received);
    expect(withinBinomial(s.downstream.impairment.dropped, echo.received, 0.1)).toBe(true);
    expect(r.answers).toBe(echo.received - s.downstream.impairment.dropped);
    // Round trip: about (1 - 0.1)^2 of what was sent.
    expect(withinBinomial(r.answers, n, 0.81)).toBe(true);
    expect(s.clients).toBe(1);
    expect(s.foreign).toBe(0);
  });

  it("duplicates the seeded share and counts every copy", async () => {
    echo.received = 0;
    const proxy = await startNetem({
      listen: { address: HOST, port: 52002 },
      target: { address: HOST, port: ECHO_PORT },
      upstreamAddress: HOST,
      profile: { duplicate: 0.2 },
      seed: 11,
    });
    const n = 1000;
    const r = await pump(proxy.listen, n);
    const s = proxy.stats();
    proxy.close();
    const up = s.upstream.impairment;
    expect(withinBinomial(up.duplicated, n, 0.2)).toBe(true);
    expect(echo.received).toBe(n + up.duplicated);
    expect(up.delivered).toBe(n + up.duplicated);
    const down = s.downstream.impairment;
    expect(r.answers).toBe(echo.received + down.duplicated);
    // Every datagram came back at least once: duplicates only add copies.
    expect(r.distinct).toBe(n);
  });

  it("holds the rate limit: no more pass than the bucket plus the rate over the run", async () => {
    echo.received = 0;
    const proxy = await startNetem({
      listen: { address: HOST, port: 52003 },
      target: { address: HOST, port: ECHO_PORT },
      upstreamAddress: HOST,
      ratePerSecond: 200,
      rateBurst: 20,
    });
    const t0 = performance.now();
    const n = 1000;
    await pump(proxy.listen, n, 50);
    const elapsedS = (performance.now() - t0) / 1000;
    const s = proxy.stats();
    proxy.close();
    const passed = s.upstream.received - s.upstream.rateLimited;
    expect(s.upstream.received).toBe(n);
    expect(s.upstream.impairment.sent).toBe(passed);
    expect(echo.received).toBe(passed);
    // A count bound: the bucket's 20 plus 200 per second of the run (measured, generously).
    expect(passed).toBeLessThanOrEqual(20 + Math.ceil(200 * elapsedS) + 1);
    expect(s.upstream.rateLimited).toBeGreaterThan(0);
  });

  it("keeps a bounded client table: each client its own upstream, the longest silent evicted", async () => {
    echo.received = 0;
    const proxy = await startNetem({
      listen: { address: HOST, port: 52006 },
      target: { address: HOST, port: ECHO_PORT },
      upstreamAddress: HOST,
      maxClients: 2,
    });
    // Three clients one after the other (pump binds a fresh socket each time): all answered.
    const answers: number[] = [];
    for (let c = 0; c < 3; c++) answers.push((await pump(proxy.listen, 20, 100)).answers);
    const s = proxy.stats();
    proxy.close();
    expect(answers).toEqual([20, 20, 20]);
    expect(echo.received).toBe(60);
    expect(s.clients).toBe(3);
    expect(s.activeClients).toBe(2);
    expect(s.evicted).toBe(1);
    // Counts of the evicted client are kept.
    expect(s.upstream.impairment.delivered).toBe(60);
    expect(s.downstream.impairment.delivered).toBe(60);
  });

  it("is reachable from the CLI and prints its counters as JSON at --duration", async () => {
    const out: string[] = [];
    const errs: string[] = [];
    const io: Io = {
      out: (l) => out.push(l),
      err: (l) => errs.push(l),
      stdinLines: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: "" }) }),
      }),
    };
    const run = main(
      [
        "netem",
        "--listen",
        `${HOST}:52004`,
        "--target",
        `${HOST}:${ECHO_PORT}`,
        "--loss",
        "0.5",
        "--seed",
        "3",
        "--duration",
        "600ms",
        "--json",
      ],
      io,
    );
    await sleep(150);
    await pump({ address: HOST, port: 52004 }, 100, 100);
    expect(await run).toBe(0);
    expect(errs).toEqual([]);
    const stats = JSON.parse(out[out.length - 1] ?? "{}") as {
      upstream: { received: number; impairment: { dropped: number } };
    };
    expect(stats.upstream.received).toBe(100);
    expect(withinBinomial(stats.upstream.impairment.dropped, 100, 0.5)).toBe(true);
    expect(await main(["netem", "--listen", "x", "--target", `${HOST}:1`], io)).toBe(2);
    expect(
      await main(["netem", "--listen", `${HOST}:52005`, "--target", `${HOST}:1`, "--loss", "2"], io),
    ).toBe(2);
  });
});

describe("a session through the proxy to an emulated board", () => {
  let lan: Lan;
  beforeAll(async () => {
    lan = await firmwareBoards(1, BOARD_PORT, [{ source: "pattern" }], [{ sink: "discard" }]);
  }, 30000);
  afterAll(async () => {
    await lan?.stop();
  });

  it("stays connected at 5 % loss both ways and reports the loss", async () => {
    const board = lan.boards[0]!;
    const proxy = await startNetem({
      listen: { address: HOST, port: 52011 },
      target: { address: board.address, port: BOARD_PORT },
      upstreamAddress: HOST,
      profile: { loss: 0.05 },
      seed: 20261124,
    });
    try {
      const r = await runSession(
        { address: HOST, port: proxy.listen.port, source: { kind: "pattern" } },
        { durationMs: 8000, connectTimeoutMs: 5000 },
      );
      const s = proxy.stats();
      expect(r.failure).toBeUndefined();
      const input = r.report.inputs[0]!;
      expect(input.packets).toBeGreaterThan(300);
      // The board's audio to the client crossed the downstream layer: what the client counts as
      // lost is what the layer dropped (within a point), and both are near 5 %.
      const down = s.downstream.impairment;
      const injected = (100 * down.dropped) / down.sent;
      expect(Math.abs(injected - 5)).toBeLessThan(2.5);
      expect(input.lostPercent).toBeGreaterThan(1);
      expect(Math.abs(input.lostPercent - injected)).toBeLessThan(2);
      expect(s.clients).toBe(1);
      expect(s.foreign).toBe(0);
    } finally {
      proxy.close();
    }
  }, 30000);
});
