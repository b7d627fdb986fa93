/**
 * Uploads a program through Espruino's own upload tools (node_modules/espruino), over a link this
 * process already holds: the tools run in a child process (upload-worker.ts) whose only serial
 * device is a bridge to this link, so that a flash uses one connection from start to end (opening
 * a USB serial port again can reset an ESP32), and the tools never open anything themselves.
 *
 * The board description the tools need (built-in modules, so that `require("dgram")` is not looked
 * up online; the Espruino version, for Storage uploads) is passed in: {@link boardDescription}
 * makes one from the board's `process.env`, the emulator has its own file.
 */

import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BOARD_FILE } from "../emulator/index.js";
import type { BoardInfo } from "./console.js";
import type { Link } from "./link.js";
import type { FromWorker, ToWorker, UploadJob } from "./upload-worker.js";

/** Why an upload failed: printed as one line. */
export class UploadError extends Error {
  override readonly name = "UploadError";
}

export interface UploadOptions {
  /** The program (one character per byte). */
  readonly code: string;
  /** Save to flash (Storage `.bootcde`) and load() it; otherwise it runs from RAM. */
  readonly save: boolean;
  /** The board description (see {@link boardDescription}). */
  readonly board: Record<string, unknown>;
  /** No write throttling (TCP consoles). */
  readonly fastWrite: boolean;
  /** Called as bytes go out: bytes sent and the total the tools announced (0 until they do). */
  readonly onProgress?: (sent: number, total: number) => void;
  /** The tools' own notices (warnings, errors) and log lines. */
  readonly onNotice?: (level: "error" | "warning" | "info" | "log", text: string) => void;
  /** Longest the whole upload may take (ms). Defaults to 300000. */
  readonly timeoutMs?: number;
}

export interface UploadResult {
  /** Bytes written to the board, the tools' framing included. */
  readonly bytes: number;
  readonly ms: number;
}

const WORKER = fileURLToPath(new URL("./upload-worker.ts", import.meta.url));

/**
 * A board description for the upload tools: the emulator's board file for an emulated board,
 * otherwise what `process.env` told (the tools' own "ENV_ON_CONNECT" does the same query, then
 * downloads the board's file: we stay offline).
 */
export function boardDescription(info: BoardInfo): Record<string, unknown> {
  if (info.board === "EMULATOR")
    return JSON.parse(readFileSync(BOARD_FILE, "utf8")) as Record<string, unknown>;
  return {
    info: { name: info.board, binary_version: info.version, builtin_modules: [...info.modules] },
    BOARD: info.board,
    VERSION: info.version,
    MODULES: info.modules.join(","),
  };
}

/** Uploads `options.code` over `link`; rejects with an {@link UploadError}. */
export function uploadCode(link: Link, options: UploadOptions): Promise<UploadResult> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const started = Date.now();
  let child: ChildProcess;
  try {
    child = fork(WORKER, [], {
      execArgv: ["--import", tsx],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
  } catch (e) {
    return Promise.reject(new UploadError(`cannot start the upload tool: ${String(e)}`));
  }
  let output = "";
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-2000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  return new Promise<UploadResult>((resolve, reject) => {
    const job: UploadJob = {
      code: options.code,
      save: options.save,
      board: options.board,
      fastWrite: options.fastWrite,
    };
    let sent = 0;
    let total = 0;
    let finished = false;
    const timeoutMs = options.timeoutMs ?? 300000;
    const post = (m: ToWorker): void => {
      if (child.connected) child.send(m);
    };
    const unsubscribe = link.onData((data) => post({ type: "data", data }));
    const timer = setTimeout(
      () => finish(new UploadError(`the upload took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
    function finish(error?: Error): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      if (child.exitCode === null) child.kill();
      if (error) reject(error);
      else resolve({ bytes: sent, ms: Date.now() - started });
    }
    link.onClose((reason) => {
      post({ type: "closed" });
      finish(new UploadError(reason));
    });
    child.on("message", (m: FromWorker) => {
      switch (m.type) {
        case "ready":
          post({ type: "job", job });
          break;
        case "write":
          link.write(m.data).then(
            () => {
              sent += m.data.length;
              if (total > 0) options.onProgress?.(sent, Math.max(total, sent));
              post({ type: "written" });
            },
            (e: unknown) => finish(new UploadError(e instanceof Error ? e.message : String(e))),
          );
          break;
        case "status":
          if (m.total > 0) total = sent + m.total;
          break;
        case "notice":
          options.onNotice?.(m.level, m.text);
          if (m.level === "error") finish(new UploadError(`the upload tool says: ${m.text}`));
          break;
        case "log":
          options.onNotice?.("log", m.text);
          break;
        case "done":
          finish();
          break;
        case "failed":
          finish(new UploadError(m.message));
          break;
      }
    });
    child.on("exit", (code, signal) => {
      const last = output.trim().split("\n").at(-1) ?? "";
      finish(
        new UploadError(`the upload tool stopped (${signal ?? `exit ${code}`})${last ? `: ${last}` : ""}`),
      );
    });
  });
}
