/**
 * A board's flash Storage: a JSON file (name -> binary string, one char per byte) rewritten on
 * every change, so that it survives restarts of the board and of the emulator; and
 * `require("Storage")` on top of it: `read(name[, offset, length])`, `readJSON(name,
 * noExceptions)` (undefined when missing, and when invalid with noExceptions), `readArrayBuffer`,
 * `write(name, data[, offset, size])` (the 4-argument form creates a file of `size` bytes and
 * fills it in chunks, as the upload tool's "save on send" does), `writeJSON`, `erase`, `eraseAll`,
 * `list([pattern])`, `getFree`, `getStats`, `compact`. Names over 28 characters are silently
 * truncated, as on Espruino. Typed arrays and arrays given to `write` are stored as their bytes.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { binaryString, type Realm, stringBytes } from "./context.js";

/** Longest Storage file name (longer names are truncated). */
export const MAX_NAME = 28;
/** Bytes of flash Storage reported by getFree/getStats. */
export const STORAGE_BYTES = 1048576;

/** The files of one board, persisted to `path` (or only in memory when `path` is undefined). */
export class BoardStorage {
  private readonly files = new Map<string, string>();

  constructor(readonly path: string | undefined) {
    if (path !== undefined && existsSync(path)) {
      const data: unknown = JSON.parse(readFileSync(path, "utf8"));
      if (typeof data === "object" && data !== null) {
        for (const [k, v] of Object.entries(data)) if (typeof v === "string") this.files.set(k, v);
      }
    }
  }

  static key(name: string): string {
    return name.slice(0, MAX_NAME);
  }

  read(name: string): string | undefined {
    return this.files.get(BoardStorage.key(name));
  }

  write(name: string, data: string): void {
    this.files.set(BoardStorage.key(name), data);
    this.persist();
  }

  erase(name: string): boolean {
    const had = this.files.delete(BoardStorage.key(name));
    if (had) this.persist();
    return had;
  }

  eraseAll(): void {
    this.files.clear();
    this.persist();
  }

  names(): string[] {
    return [...this.files.keys()];
  }

  usedBytes(): number {
    let n = 0;
    for (const v of this.files.values()) n += 32 + ((v.length + 3) & ~3);
    return n;
  }

  private persist(): void {
    if (this.path === undefined) return;
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, JSON.stringify(Object.fromEntries(this.files), null, 1));
  }
}

function bytesOf(data: unknown): string {
  if (typeof data === "string") return data;
  if (typeof data === "object" && data !== null) {
    if (ArrayBuffer.isView(data))
      return binaryString(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (Object.prototype.toString.call(data) === "[object ArrayBuffer]") {
      return binaryString(new Uint8Array(data as ArrayBuffer));
    }
    if (Array.isArray(data)) return binaryString(data.map((x) => Number(x)));
  }
  return String(data);
}

/** `require("Storage")` for one interpreter, over `storage`. */
export function storageModule(realm: Realm, storage: BoardStorage): object {
  const m = realm.methods({
    read: (name, offset, length) => {
      const s = storage.read(String(name));
      if (s === undefined) return undefined;
      const from = typeof offset === "number" ? offset : 0;
      return typeof length === "number" ? s.substr(from, length) : s.slice(from);
    },
    readJSON: (name, noExceptions) => {
      const s = storage.read(String(name));
      if (s === undefined) return undefined;
      try {
        return realm.parseJson(s);
      } catch (e) {
        if (noExceptions) return undefined;
        throw realm.error(`JSON parse error in Storage file ${JSON.stringify(String(name))}: ${String(e)}`);
      }
    },
    readArrayBuffer: (name) => {
      const s = storage.read(String(name));
      return s === undefined ? undefined : realm.arrayBuffer(stringBytes(s));
    },
    write: (name, data, offset, size) => {
      const n = String(name);
      const bytes = bytesOf(data);
      if (typeof size === "number") {
        const at = typeof offset === "number" ? offset : 0;
        const blank = "\xff".repeat(Math.max(size, at + bytes.length));
        storage.write(n, blank.slice(0, at) + bytes + blank.slice(at + bytes.length, size));
      } else if (typeof offset === "number" && offset > 0) {
        const cur = storage.read(n);
        if (cur === undefined)
          throw realm.error(`Can't write to ${JSON.stringify(n)} at offset: file not created`);
        storage.write(n, cur.slice(0, offset) + bytes + cur.slice(offset + bytes.length));
      } else {
        storage.write(n, bytes);
      }
      return true;
    },
    writeJSON: (name, data) => {
      storage.write(String(name), realm.kit.JSONstringifyEspruino(data));
      return true;
    },
    erase: (name) => {
      storage.erase(String(name));
    },
    eraseAll: () => storage.eraseAll(),
    list: (pattern) => {
      const names = storage.names();
      const match =
        pattern === undefined
          ? names
          : names.filter(
              (n) => n.match(pattern instanceof Object ? (pattern as RegExp) : String(pattern)) !== null,
            );
      return realm.array(match);
    },
    getFree: () => STORAGE_BYTES - storage.usedBytes(),
    getStats: () =>
      realm.object({
        totalBytes: STORAGE_BYTES,
        freeBytes: STORAGE_BYTES - storage.usedBytes(),
        fileBytes: storage.usedBytes(),
        fileCount: storage.names().length,
        trashBytes: 0,
        trashCount: 0,
      }),
    compact: () => undefined,
    debug: () => undefined,
  });
  return realm.markNative(m);
}
