/**
 * The upload, done by Espruino's own tools (node_modules/espruino, used as a library) in a child
 * process of the syfala command (see upload.ts): the tools keep their state in globals and print
 * freely, so they get a process of their own.
 *
 * They do not open any port themselves: their only "serial device" is a bridge to the parent over
 * the IPC channel, and the parent owns the real link (serial or TCP), opened once for the whole
 * flash. Nothing online: the board description comes from the parent (no board JSON download, no
 * `process.env` query), no module lookup, no minifier or compiler service; and, to make sure,
 * every way to open a network connection is replaced in this process by one that throws.
 *
 * Messages (JSON over IPC): the worker says `ready`; the parent sends `job`, then `data` (bytes
 * from the board), `written` (the last `write` went out) and `closed`; the worker sends `write`,
 * `status` (the tools' status text with the byte count being sent), `notice`, `log`, and finally
 * `done` or `failed`.
 */

import dgram from "node:dgram";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { createRequire, syncBuiltinESMExports } from "node:module";
import net from "node:net";
import tls from "node:tls";

/** What the parent asks for. */
export interface UploadJob {
  /** The program text (one character per byte). */
  readonly code: string;
  /** Store it in Storage as `.bootcde` (SAVE_ON_SEND=1) and load() it, rather than run it from RAM. */
  readonly save: boolean;
  /** The board description the tools would otherwise download (EMULATOR.json or one built from process.env). */
  readonly board: Record<string, unknown>;
  /** Write without throttling (TCP consoles): SERIAL_THROTTLE_SEND=2, no delay after Storage writes. */
  readonly fastWrite: boolean;
}

export type ToWorker =
  | { readonly type: "job"; readonly job: UploadJob }
  | { readonly type: "data"; readonly data: string }
  | { readonly type: "written" }
  | { readonly type: "closed" };

export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "write"; readonly data: string }
  | { readonly type: "status"; readonly text: string; readonly total: number }
  | { readonly type: "notice"; readonly level: "error" | "warning" | "info"; readonly text: string }
  | { readonly type: "log"; readonly text: string }
  | { readonly type: "done" }
  | { readonly type: "failed"; readonly message: string };

/** The parts of the tools' global `Espruino` object used here. */
interface EspruinoTools {
  Config: Record<string, unknown>;
  callProcessor(name: string, data: unknown, callback: (result: unknown) => void): void;
  Core: {
    Serial: {
      devices: BridgeDevice[];
      open(path: string, connected: (info: unknown) => void, disconnected: () => void): void;
      close(): void;
    };
    CodeWriter: { writeToEspruino(code: string, callback: () => void): void };
    Env: { getData(): Record<string, unknown>; setFirmwareVersion(v: string): void };
    Status: {
      setStatus(text: string, total?: number): void;
      hasProgress(): boolean;
      incrementProgress(amount: number): void;
    };
    Notifications: Record<"success" | "error" | "warning" | "info", (text: unknown) => void>;
  };
}

/** A serial device as the tools define one (core/serial.js). */
interface BridgeDevice {
  name: string;
  getPorts(
    callback: (ports: { path: string; description: string; type: string }[], instant: boolean) => void,
  ): void;
  open(
    path: string,
    opened: (info: unknown) => void,
    received: (data: ArrayBuffer) => void,
    disconnected: () => void,
  ): void;
  write(data: string, written: () => void): void;
  close(): void;
}

function send(m: FromWorker): void {
  process.send?.(m);
}

/** Replaces every way to reach the network in this process with a function that throws. */
function forbidNetwork(): void {
  const refuse = (what: string) => () => {
    throw new Error(`the upload tool tried to use the network (${what}): refused`);
  };
  const patch = (mod: object, names: string[], prefix: string): void => {
    for (const n of names) Object.defineProperty(mod, n, { value: refuse(`${prefix}.${n}`), writable: true });
  };
  patch(net, ["connect", "createConnection", "createServer"], "net");
  patch(tls, ["connect"], "tls");
  patch(http, ["request", "get"], "http");
  patch(https, ["request", "get"], "https");
  patch(dns, ["lookup", "resolve", "resolve4", "resolve6"], "dns");
  patch(dgram, ["createSocket"], "dgram");
  Object.defineProperty(globalThis, "fetch", { value: refuse("fetch"), writable: true });
  // ES module imports of these built-ins see the replacements too.
  syncBuiltinESMExports();
}

function text(v: unknown): string {
  return typeof v === "string" ? v : v instanceof Error ? v.message : JSON.stringify(v);
}

function run(job: UploadJob): void {
  const requireCjs = createRequire(import.meta.url);
  const tools = requireCjs("espruino") as { init(callback: () => void): void };
  // The tools print as they load ("Found ..."): that goes to the parent as log lines.
  const log = (...args: unknown[]): void => send({ type: "log", text: args.map(text).join(" ") });
  console.log = log;
  console.info = log;
  console.warn = log;
  console.error = log;
  tools.init(() => {
    const E = (globalThis as unknown as { Espruino: EspruinoTools }).Espruino;
    E.Core.Notifications = {
      success: (t) => send({ type: "notice", level: "info", text: text(t) }),
      info: (t) => send({ type: "notice", level: "info", text: text(t) }),
      warning: (t) => send({ type: "notice", level: "warning", text: text(t) }),
      error: (t) => send({ type: "notice", level: "error", text: text(t) }),
    };
    E.Core.Status = {
      setStatus: (t, total) => send({ type: "status", text: t, total: total ?? 0 }),
      hasProgress: () => false,
      incrementProgress: () => undefined,
    };
    const config: Record<string, unknown> = {
      BLUETOOTH_LOW_ENERGY: false,
      BLUETOOTH_LOW_ENERGY_DBUS: false,
      MODULE_URL: "",
      BOARD_JSON_URL: "",
      COMPILATION: false,
      COMPILATION_URL: "",
      MINIFICATION_LEVEL: "",
      MODULE_MINIFICATION_LEVEL: "",
      PRETOKENISE: 0,
      ENV_ON_CONNECT: false,
      SET_TIME_ON_WRITE: false,
      SERIAL_THROTTLE_SEND: job.fastWrite ? 2 : 0,
      STORAGE_UPLOAD_METHOD: job.fastWrite ? 1 : 0,
      SAVE_ON_SEND: job.save ? 1 : 0,
      LOAD_STORAGE_FILE: 1,
    };
    Object.assign(E.Config, config);

    let received: ((data: ArrayBuffer) => void) | undefined;
    let disconnected: (() => void) | undefined;
    let written: (() => void) | undefined;
    const bridge: BridgeDevice = {
      name: "syfala link",
      getPorts: (cb) =>
        cb([{ path: "syfala", description: "the syfala command's link", type: "bridge" }], true),
      open: (_path, opened, rx, gone) => {
        received = rx;
        disconnected = gone;
        setImmediate(() => opened({ portName: "syfala" }));
      },
      write: (data, done) => {
        written = done;
        send({ type: "write", data });
      },
      close: () => {
        const d = disconnected;
        disconnected = undefined;
        d?.();
      },
    };
    E.Core.Serial.devices.splice(0, E.Core.Serial.devices.length, bridge);
    process.on("message", (m: ToWorker) => {
      if (m.type === "data" && received !== undefined) {
        const bytes = Buffer.from(m.data, "latin1");
        received(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
      } else if (m.type === "written") {
        const w = written;
        written = undefined;
        w?.();
      } else if (m.type === "closed") {
        send({ type: "failed", message: "the link closed during the upload" });
        process.exit(1);
      }
    });

    // The board description, as the command-line tool's --board FILE loads it.
    const env = E.Core.Env.getData();
    Object.assign(env, job.board);
    E.callProcessor("boardJSONLoaded", env, () => {
      const info = job.board["info"];
      const version =
        typeof info === "object" && info !== null
          ? (info as Record<string, unknown>)["binary_version"]
          : undefined;
      if (typeof version === "string") E.Core.Env.setFirmwareVersion(version);
      E.Core.Serial.open(
        "syfala",
        (status) => {
          if (status === undefined) {
            send({ type: "failed", message: "the upload tool could not open the link" });
            return;
          }
          E.callProcessor("transformForEspruino", job.code, (code) => {
            E.Core.CodeWriter.writeToEspruino(String(code), () => {
              send({ type: "done" });
            });
          });
        },
        () => undefined,
      );
    });
  });
}

forbidNetwork();
// Bytes from the board that come before the job are of no use to the tools: dropped.
const waitForJob = (m: ToWorker): void => {
  if (m.type !== "job") return;
  process.off("message", waitForJob);
  try {
    run(m.job);
  } catch (e) {
    send({ type: "failed", message: text(e) });
  }
};
process.on("message", waitForJob);
// Messages that come before a listener are lost: the job is sent only after this.
send({ type: "ready" });
