/**
 * The per-datagram steps of the firmware's hot paths, timed ON the real interpreter (built with
 * `scripts/build-firmware.ts --entry bench/espruino/steps.ts`, run with `espruino FILE`): the same
 * shared/ modules and codecs the firmware runs, driven step by step with getTime() around each,
 * so a figure is a measurement of that step, not a guess. Prints one JSON line, `steps {...}`,
 * microseconds per call (mean over REPEAT calls, the cost of an empty loop subtracted).
 *
 * Written in the Espruino subset (the build's gate checks it like the firmware).
 */

import { createSource } from "../../firmware/audio/source.js";
import type { DgramModule, EspruinoE } from "../../firmware/board/espruino.js";
import { FIRMWARE_CODECS } from "../../firmware/codecs.js";
import { Pacer } from "../../shared/audio/pacer.js";
import { IndexCheck } from "../../shared/endpoint/receivers.js";
import { ServerEngine } from "../../shared/endpoint/server.js";
import type { Format } from "../../shared/format.js";
import { Client } from "../../shared/message.js";
import { type U64, u64AddInPlace } from "../../shared/u64.js";
import { encodeToBytes } from "../../shared/wire/codec.js";
import { postcard } from "../../shared/wire/postcard.js";

declare function require(name: string): unknown;
declare function getTime(): number;
declare const E: EspruinoE;
declare const console: { log(...args: unknown[]): void };

/**
 * Set by a prelude to count instructions instead (bench/espruino-steps.ts runs it under
 * callgrind): only step number SYFALA_STEP runs, SYFALA_REPEAT times, so that the difference
 * between two runs is that step's cost whatever else the machine is doing.
 */
declare const SYFALA_STEP: number | undefined;
declare const SYFALA_REPEAT: number | undefined;
/** Set (to anything) with SYFALA_STEP: run only the step's preparation, so that it can be subtracted. */
declare const SYFALA_PREP_ONLY: unknown;
const ONLY = typeof SYFALA_STEP === "undefined" ? -1 : SYFALA_STEP;
const REPEAT = typeof SYFALA_REPEAT === "undefined" ? 200 : SYFALA_REPEAT;
let stepNo = 0;
const F: Format = { sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16" };
const PEER_ADDR = "127.0.0.1";
const PEER_PORT = 47999;

const out: { [step: string]: number } = {};
let now = 1000;

/**
 * Mean microseconds of `fn` over REPEAT calls, less an empty call's; `prep` runs before each
 * call in both loops, so its cost is not counted (in the instruction-count mode it is).
 */
function time(name: string, fn: () => void, prep?: () => void): void {
  const before = prep === undefined ? empty : prep;
  const k = stepNo++;
  if (ONLY >= 0) {
    const run = typeof SYFALA_PREP_ONLY === "undefined" ? fn : empty;
    if (k === ONLY)
      for (let i = 0; i < REPEAT; i++) {
        before();
        run();
      }
    out[name] = k;
    return;
  }
  const t0 = getTime();
  for (let i = 0; i < REPEAT; i++) {
    before();
    fn();
  }
  const t1 = getTime();
  for (let i = 0; i < REPEAT; i++) {
    before();
    empty();
  }
  const t2 = getTime();
  out[name] = Math.round(((t1 - t0 - (t2 - t1)) * 1e6) / REPEAT);
}

function empty(): void {
  // the loop's own cost
}

let echoed = 0;
let echo = true;
const engine = new ServerEngine({
  formats: { inputs: [F, F], outputs: [F] },
  codecs: FIRMWARE_CODECS,
  maxClients: 4,
  maxStreamingClients: 4,
  onStartIO: () => "ok",
  onAudio: (p, streamIdx, _byteIdx, data, start) => {
    if (echo && engine.echoAudio(p, streamIdx, data, start)) echoed++;
  },
});
const peer = PEER_ADDR + ":" + PEER_PORT;

function feed(bytes: Uint8Array): void {
  engine.receive(bytes, PEER_ADDR, PEER_PORT, now);
  for (let t = engine.pollTransmit(); t !== undefined; t = engine.pollTransmit()) {
    // control replies: not measured here
  }
  for (let e = engine.pollEvent(); e !== undefined; e = engine.pollEvent()) {
    // drained
  }
}

feed(encodeToBytes(postcard.client, Client.DISCOVERY));
feed(encodeToBytes(postcard.client, Client.CONNECTION_OK));
feed(encodeToBytes(postcard.client, Client.START_IO));

const byteIdx: U64 = { hi: 0, lo: 0 };
const audioMsg = { type: "audio" as const, header: { streamIdx: 0, byteIdx: byteIdx, nBytes: 512 } };
const dgramBuf = new Uint8Array(17 + 512);
postcard.client.encode(audioMsg, dgramBuf, 0);
const heartbeat = encodeToBytes(postcard.client, Client.HEARTBEAT);
const asString = E.toString(dgramBuf);
const tx = new Uint8Array(1472);
const txString = E.toString(tx);

/** A client audio datagram at the next byte index (what a loopback board receives; an echo turned its tag). */
function nextAudio(): void {
  u64AddInPlace(byteIdx, 512);
  postcard.client.encode(audioMsg, dgramBuf, 0);
}

const hdr = { streamIdx: 0, byteIdx: { hi: 0, lo: 0 }, nBytes: 0 };
const readAudio = FIRMWARE_CODECS.postcard.client.readAudio as (
  b: Uint8Array,
  o: number,
  h: typeof hdr,
) => number;
time("readAudio shortcut", () => {
  readAudio(dgramBuf, 0, hdr);
});
const ic = new IndexCheck();
time("IndexCheck.receiveFrom", () => {
  u64AddInPlace(byteIdx, 512);
  ic.receiveFrom(byteIdx, dgramBuf, 17, 512);
});
time("u64AddInPlace", () => {
  u64AddInPlace(byteIdx, 512);
});
const internals = engine as unknown as { find(a: string, p: number): unknown };
time("engine.find", () => {
  internals.find(PEER_ADDR, PEER_PORT);
});
const obj = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12 };
time("read 12th field of an object", () => {
  obj.l;
});
time("read 1st field of an object", () => {
  obj.a;
});
let _view = new Uint8Array(0);
time("string to view (E.toArrayBuffer)", () => {
  _view = new Uint8Array(E.toArrayBuffer(asString));
});
time(
  "engine.receive audio, the sink echoes it in place",
  () => {
    engine.receive(dgramBuf, PEER_ADDR, PEER_PORT, now);
  },
  nextAudio,
);
const payload = dgramBuf.subarray(17);
time(
  "engine.receive audio, the sink does nothing",
  () => {
    echo = false;
    engine.receive(dgramBuf, PEER_ADDR, PEER_PORT, now);
    echo = true;
  },
  nextAudio,
);
const stranger = PEER_PORT + 1;
time(
  "engine.receive audio from a stranger (general decoder)",
  () => {
    engine.receive(dgramBuf, PEER_ADDR, stranger, now);
  },
  nextAudio,
);
time("engine.writeAudio (512 B)", () => {
  engine.writeAudio(peer, 0, byteIdx, payload, tx, 0);
});
time("engine.receive heartbeat", () => {
  engine.receive(heartbeat, PEER_ADDR, PEER_PORT, now);
});
time("E.toString(tx) (aliasing)", () => {
  E.toString(tx);
});
time("tx.subarray(0, 529)", () => {
  tx.subarray(0, 529);
});
time("Date.now()", () => {
  now = Date.now();
});
const pacer = new Pacer(16000, 2);
pacer.start(0);
const source = createSource({ ...F, source: "pattern", toneHz: 440, amplitude: 0.5 }, 1, 512);
time("pacer.due + take", () => {
  pacer.due(100000);
  pacer.take(512);
});
const fillBuf = new Uint8Array(1472);
time("pattern source.fill (512 B)", () => {
  if (source !== undefined) source.fill(fillBuf, 0, 512, 0);
});
time("engine.handleTimeout + nextDeadline", () => {
  now += 1;
  if (engine.nextDeadline() <= now) engine.handleTimeout(now);
});
// biome-ignore lint/style/useNodejsImportProtocol: Espruino's built-in module, not Node's
const sock = (require("dgram") as DgramModule).createSocket({
  type: "udp4",
  reuseAddr: true,
  recvBufferSize: 1480,
});
let sends = 0;
time("socket.send 529 B (5-argument form, queued)", () => {
  if (sends++ < REPEAT) sock.send(txString, 0, 529, PEER_PORT, PEER_ADDR);
});
sock.close();
out.echoed = echoed;
console.log("steps " + JSON.stringify(out));
