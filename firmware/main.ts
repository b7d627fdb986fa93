/**
 * The firmware: boot (configuration, Wi-Fi, socket), the server engine of shared/, timers driven
 * by the engine's deadlines and the audio pacers, and a status line on the console.
 *
 * This is the only module that touches Espruino's globals; everything else gets them injected.
 * Per audio packet nothing is allocated here: one transmit buffer (and, for codecs without a
 * fixed-length audio header, one payload buffer; otherwise the payload is `tx` after the header) are
 * made at boot, the per-client stream state at IO start. Comments stay outside function bodies
 * (Espruino keeps function source in RAM).
 *
 * Boot: the code runs `boot()` when it is loaded (upload, or `.bootcde` from flash at power-on)
 * and on `E.on("init")` (after `save()` and a reset); `boot()` starts only when nothing runs.
 * `E.on("kill")` (reset, save, load, or the emulator stopping) sends Disconnect to every client.
 */

import { Pacer } from "../shared/audio/pacer.js";
import { payloadBytesPerMessage } from "../shared/audio/sender.js";
import type { PeerInfo } from "../shared/endpoint/peer.js";
import { ServerEngine } from "../shared/endpoint/server.js";
import { type Format, frameSize } from "../shared/format.js";
import type { Outcome } from "../shared/message.js";
import { type U64, u64AddInPlace } from "../shared/u64.js";
import { createSource, type Source } from "./audio/source.js";
import type {
  DgramModule,
  EspruinoE,
  EspruinoProcess,
  StorageModule,
  TimerHandle,
  Timers,
  WifiModule,
} from "./board/espruino.js";
import { EspruinoUdp } from "./board/udp.js";
import { WifiLink } from "./board/wifi.js";
import { FIRMWARE_AUDIO_IN_PLACE, FIRMWARE_CODECS, FIRMWARE_HEADER_BYTES } from "./codecs.js";
import { type FirmwareConfig, loadConfig, type OutputConfig } from "./config.js";

declare function require(name: string): unknown;
declare const E: EspruinoE & { on(event: "init" | "kill", listener: () => void): void };
declare const process: EspruinoProcess & { env: { VERSION?: string; BOARD?: string } };
declare function setTimeout(callback: () => void, ms: number): TimerHandle;
declare function clearTimeout(handle: TimerHandle): void;
declare function setInterval(callback: () => void, ms: number): TimerHandle;
declare function clearInterval(handle: TimerHandle): void;
declare const console: { log(...args: unknown[]): void };
declare const SYFALA_VERSION: string;
/** The board's first LED, where it has one (undefined on boards without). */
declare const LED1: unknown;
declare function digitalWrite(pin: unknown, value: boolean): void;

/** Audio timer period while streaming (ms): ESP32's scheduler tick is 10 ms. */
const AUDIO_TICK_MS = 10;
/** Engine timer period while nobody streams (ms): heartbeats are 100 ms apart, timeouts 600 ms. */
const IDLE_TICK_MS = 25;
/**
 * How far a stream may fall behind its clock (ms of audio) before the late part is skipped: a
 * stalled loop (garbage collection, Wi-Fi) must not turn into a burst of stale audio. Skipped
 * bytes advance the byte index too, so the client sees them as loss and pads them.
 */
const MAX_LAG_MS = 100;
/**
 * Most bytes the socket's send queue may hold before audio is skipped instead of queued: two
 * full datagrams with their 8-byte queue headers. Espruino's `send` never refuses; it appends to
 * a queue the idle loop drains one datagram per pass, copying the whole queue each time, so a
 * firmware that outpaces its loop grows memory and latency without bound (ESPRUINO.md, "dgram").
 * Skipped audio advances the byte index: the client pads it as loss.
 */
const MAX_QUEUED_BYTES = 2 * (1472 + 8);

/** One input stream of one streaming client: its pacer, next byte index and source. */
interface InputStream {
  pacer: Pacer;
  byteIdx: U64;
  source: Source;
  packetBytes: number;
  /** Lag (bytes) beyond which late audio is skipped: MAX_LAG_MS of audio, at least 4 packets. */
  maxLagBytes: number;
  /** The payload buffer's first `packetBytes` bytes (a view made once, not per packet). */
  view: Uint8Array;
}

/** A client we stream to: the engine's peer record, and its input streams (loopback ones are undefined). */
interface StreamingClient {
  peer: PeerInfo;
  inputs: (InputStream | undefined)[];
}

/** What runs: everything `boot()` made, so that the next `boot()` can stop it. */
interface App {
  engine: ServerEngine;
  udp: EspruinoUdp;
  timer: TimerHandle | undefined;
  tickMs: number;
  status: TimerHandle | undefined;
  /** Streaming clients by peer key. */
  streams: { [peer: string]: StreamingClient };
  config: FirmwareConfig;
  sources: (Source | undefined)[];
  /** Per output stream: true when its sink is the loopback reflector. */
  loop: boolean[];
  tx: Uint8Array;
  payload: Uint8Array;
  audioOut: number;
  reflected: number;
  /** Audio packets skipped because the socket's send queue was full (sent as loss). */
  skipped: number;
}

const timers: Timers = {
  setTimeout: setTimeout,
  clearTimeout: clearTimeout,
  setInterval: setInterval,
  clearInterval: clearInterval,
};

let app: App | undefined;
/** The Wi-Fi link: made once, since its listeners stay on the Wifi module across restarts. */
let wifi: WifiLink | undefined;

function log(line: string): void {
  console.log(line);
}

function now(): number {
  return Date.now();
}

/** Sends everything the engine queued. */
function flush(a: App): void {
  for (let t = a.engine.pollTransmit(); t !== undefined; t = a.engine.pollTransmit()) {
    a.udp.send(t.data, t.data.length, t.address, t.port);
  }
}

/**
 * The engine's audio sink: a message on a loopback output goes back at once on the input
 * stream of the same index, turned around in place (postcard) or rewritten into `tx`. Skipped
 * (counted) while the send queue is full. The engine calls it directly (no wrapper: a call
 * costs tens of microseconds on Espruino), so it finds the app in `app`: audio only flows
 * once `start()` has returned and set it.
 */
function reflect(peer: PeerInfo, streamIdx: number, byteIdx: U64, data: Uint8Array, start: number): void {
  const a = app as App;
  if (!a.loop[streamIdx]) return;
  const udp = a.udp;
  if (udp.queuedBytes() > MAX_QUEUED_BYTES) {
    a.skipped++;
    return;
  }
  if (a.engine.echoAudio(peer, streamIdx, data, start)) udp.send(data, data.length, peer.address, peer.port);
  else {
    const n = a.engine.writeAudio(peer, streamIdx, byteIdx, data.subarray(start), a.tx, 0);
    if (n === 0) return;
    udp.send(a.tx, n, peer.address, peer.port);
  }
  a.reflected++;
}

/** Handles the engine's events (audio goes to the sink, not here): connections logged. */
function drainEvents(a: App): void {
  for (let e = a.engine.pollEvent(); e !== undefined; e = a.engine.pollEvent()) {
    if (e.type !== "ioStarted" && e.type !== "ioStopped") log("syfala: " + e.type + " " + e.peer);
  }
}

/**
 * IO start for one client (called by the engine BEFORE Start(Ok) leaves): pacers anchored now,
 * byte indices at 0. Returns "failure" when memory is short, so the client retries later.
 */
function startIO(a: App, peer: string, nowMs: number): Outcome {
  const info = a.engine.peer(peer);
  if (info === undefined) return "failure";
  const list: (InputStream | undefined)[] = [];
  for (let i = 0; i < a.config.inputs.length; i++) {
    const f = a.config.inputs[i] as Format;
    const src = a.sources[i];
    if (src === undefined) {
      list.push(undefined);
      continue;
    }
    const pacer = new Pacer(f.sampleRate, frameSize(f));
    pacer.start(nowMs);
    const pb = packetBytes(f);
    const lag = Math.floor((f.sampleRate * MAX_LAG_MS) / 1000) * frameSize(f);
    list.push({
      pacer: pacer,
      byteIdx: { hi: 0, lo: 0 },
      source: src,
      packetBytes: pb,
      maxLagBytes: Math.max(lag, 4 * pb),
      view: a.payload.subarray(0, pb),
    });
  }
  a.streams[peer] = { peer: info, inputs: list };
  setTick(a, AUDIO_TICK_MS);
  return "ok";
}

/** IO stop for one client: its stream state goes. */
function stopIO(a: App, peer: string): void {
  delete a.streams[peer];
  if (a.engine.streamingCount <= 1) setTick(a, IDLE_TICK_MS);
}

/** Payload bytes per message of a stream: its buffer size, or what fits one datagram. */
function packetBytes(f: Format): number {
  return payloadBytesPerMessage(f, FIRMWARE_HEADER_BYTES);
}

/** Sends the audio due on every input stream of every streaming client. */
function pumpAudio(a: App, nowMs: number): void {
  for (const peer in a.streams) {
    const c = a.streams[peer] as StreamingClient;
    for (let i = 0; i < c.inputs.length; i++) {
      const s = c.inputs[i];
      if (s !== undefined) pumpStream(a, c.peer, i, s, nowMs);
    }
  }
}

/**
 * Sends one stream's due packets. Skips, as loss (the byte index advances, the client pads),
 * what is later than `maxLagBytes`, and every packet due while the socket's send queue is full:
 * the firmware paces itself by what actually leaves, so memory stays flat under any load.
 */
function pumpStream(a: App, peer: PeerInfo, idx: number, s: InputStream, nowMs: number): void {
  const pb = s.packetBytes;
  let due = s.pacer.due(nowMs);
  if (due > s.maxLagBytes) {
    const skip = due - (due % pb) - pb;
    s.pacer.take(skip);
    u64AddInPlace(s.byteIdx, skip);
    due -= skip;
  }
  while (due >= pb) {
    if (a.udp.queuedBytes() > MAX_QUEUED_BYTES) a.skipped++;
    else {
      s.source.fill(a.payload, 0, pb, s.pacer.taken);
      const n = a.engine.writeAudio(peer, idx, s.byteIdx, s.view, a.tx, 0, nowMs);
      if (n === 0) return;
      a.udp.send(a.tx, n, peer.address, peer.port);
      a.audioOut++;
    }
    s.pacer.take(pb);
    u64AddInPlace(s.byteIdx, pb);
    due -= pb;
  }
}

/** One timer tick: the engine's deadlines, then audio, then what it all queued. */
function tick(a: App): void {
  const t = now();
  if (a.engine.nextDeadline() <= t) a.engine.handleTimeout(t);
  drainEvents(a);
  pumpAudio(a, t);
  flush(a);
}

/** Runs `tick` every `ms` (re-armed only when the period changes). */
function setTick(a: App, ms: number): void {
  if (a.timer !== undefined && a.tickMs === ms) return;
  if (a.timer !== undefined) clearInterval(a.timer);
  a.tickMs = ms;
  a.timer = setInterval(() => tick(a), ms);
}

/** The one-line status: clients, IO, packets, losses, free memory (JsVar blocks). */
function status(a: App): void {
  let lost = 0;
  const keys = a.engine.peerKeys();
  for (let i = 0; i < keys.length; i++) {
    const st = a.engine.peerStats(keys[i] as string);
    if (st !== undefined) lost += st.bytesLost;
  }
  const m = process.memory();
  const e = a.engine;
  const u = a.udp.stats;
  log(
    `syfala: clients ${e.connectedCount} streaming ${e.streamingCount} | udp in ${u.received} out ${u.sent} | ` +
      `audio out ${a.audioOut} looped ${a.reflected} skipped ${a.skipped} lost ${lost}B | free ${m.free}/${m.total}`,
  );
}

/** Stops what runs: Disconnect to every client, timers cleared, socket closed. */
function stop(a: App): void {
  a.engine.close(now());
  flush(a);
  if (a.timer !== undefined) clearInterval(a.timer);
  if (a.status !== undefined) clearInterval(a.status);
  a.udp.close();
}

/** Reads the Wi-Fi module where the board has one (Espruino's Linux build throws). */
function wifiModule(): WifiModule | undefined {
  try {
    return require("Wifi") as WifiModule;
  } catch (_e) {
    return undefined;
  }
}

/** Starts everything from the stored configuration. */
function start(): App {
  const loaded = loadConfig(require("Storage") as StorageModule);
  for (let i = 0; i < loaded.problems.length; i++) log(loaded.problems[i] as string);
  const config = loaded.config;
  const sources: (Source | undefined)[] = [];
  for (let i = 0; i < config.inputs.length; i++) {
    const input = config.inputs[i] as FirmwareConfig["inputs"][number];
    sources.push(createSource(input, i, packetBytes(input)));
  }
  const engine = new ServerEngine({
    // The stream configs are Formats with extra fields (source, sink): the engine reads the four.
    formats: config,
    codecs: FIRMWARE_CODECS,
    maxClients: config.maxClients,
    maxOffers: 2,
    maxRefusals: 2,
    maxStreamingClients: Math.min(config.maxStreamingClients, config.maxClients),
    onStartIO: (peer, nowMs) => startIO(a, peer, nowMs),
    onStopIO: (peer) => stopIO(a, peer),
    onAudio: reflect,
  });
  // biome-ignore lint/style/useNodejsImportProtocol: Espruino's built-in module, not Node's
  const dgram = require("dgram") as DgramModule;
  const udp = new EspruinoUdp({ dgram: dgram, E: E, timers: timers, log: log }, config.port);

  const loop: boolean[] = [];
  for (let i = 0; i < config.outputs.length; i++)
    loop.push((config.outputs[i] as OutputConfig).sink === "loopback");
  const tx = new Uint8Array(1472);
  const a: App = {
    engine: engine,
    udp: udp,
    timer: undefined,
    tickMs: 0,
    status: undefined,
    streams: {},
    config: config,
    sources: sources,
    loop: loop,
    tx: tx,
    payload: FIRMWARE_AUDIO_IN_PLACE ? tx.subarray(FIRMWARE_HEADER_BYTES) : new Uint8Array(1472),
    audioOut: 0,
    reflected: 0,
    skipped: 0,
  };
  udp.onDatagram((data, address, port) => {
    if (!engine.receive(data, address, port, Date.now())) return;
    drainEvents(a);
    flush(a);
  });
  if (wifi === undefined) {
    wifi = new WifiLink(wifiModule(), timers, log, {
      ssid: config.wifi.ssid,
      password: config.wifi.password,
      hostname: config.hostname,
      led: typeof LED1 === "undefined" ? undefined : (on) => digitalWrite(LED1, on),
    });
    wifi.start();
  }
  setTick(a, IDLE_TICK_MS);
  if (config.statusEveryMs > 0) a.status = setInterval(() => status(a), config.statusEveryMs);
  log(
    `syfala ${SYFALA_VERSION} on ${process.env.BOARD}: port ${config.port}, ${config.inputs.length} in, ${config.outputs.length} out`,
  );
  return a;
}

/** Starts the firmware unless it runs: loading the code runs it, and so does "init" after save(). */
function boot(): void {
  if (app === undefined) app = start();
}

/**
 * Before reset(), save() or load() (Espruino's "kill"): Disconnect to every client, timers and
 * socket closed. After save(), the stored state has no running app, so "init" starts one; code
 * run from flash at power-on starts at load and "init" then finds it running.
 */
function shutdown(): void {
  if (app !== undefined) stop(app);
  app = undefined;
}

E.on("init", boot);
E.on("kill", shutdown);
boot();
