/**
 * What kind of board an emulated board pretends to be. Two profiles:
 * - `esp32` (the default): `require("Wifi")` exists and the board is on the LAN only while its
 *   station is connected to the emulated access point; each socket queues at most 6 datagrams
 *   between two passes of the interpreter loop (ESP32's lwIP receive mailbox), more are dropped;
 *   an `ESP32` global exists; 3000 JsVar blocks of 14 bytes.
 * - `linux`: like Espruino's Linux build: `require("Wifi")` throws, the network is always up, no
 *   receive queue limit; its blocks are 27 bytes (strings and buffers take fewer of them).
 * `process.env.BOARD` is "EMULATOR" in both, so firmware cannot mistake the emulator for a board.
 */

export type ProfileName = "esp32" | "linux";

/**
 * How many characters or bytes one JsVar block holds on a build (process.memory()'s estimate,
 * memory.ts); it follows from the JsVar's size, so the ESP32 (14-byte blocks) and the Linux
 * build (27 bytes) differ. Measured with `E.getSizeOf` on the Linux build 2v29 (strings of 0..200
 * characters, names of 1..80, typed arrays), ESP32's from its 14-byte JsVar.
 */
export interface BlockGeometry {
  /** Characters of a property name held by its first block (which also packs a small value). */
  readonly nameChars: number;
  /** Characters of a string held by its first block. */
  readonly stringChars: number;
  /** Characters held by each further block of a string or name. */
  readonly extChars: number;
  /** Bytes per block of a flat string (typed array backing store, long code text). */
  readonly flatBytes: number;
}

/** ESP32 (14-byte blocks): a `Uint8Array(1400)` is 103 blocks. */
export const ESP32_BLOCKS: BlockGeometry = { nameChars: 4, stringChars: 8, extChars: 12, flatBytes: 14 };
/**
 * The Linux build (27-byte blocks, measured): a string of up to 20 characters is 1 block, then
 * 1 per 21; a name of up to 8 characters 1, then 1 per 21; a `Uint8Array(1400)` 55.
 */
export const LINUX_BLOCKS: BlockGeometry = { nameChars: 8, stringChars: 20, extChars: 21, flatBytes: 27 };

export interface Profile {
  readonly name: ProfileName;
  /** `process.env.BOARD`. */
  readonly board: string;
  /** `process.env.VERSION` (the Espruino version emulated). */
  readonly version: string;
  /** `require("Wifi")` exists; the network is up only while the station is connected. */
  readonly wifi: boolean;
  /** Datagrams queued per socket between two interpreter passes; 0 for no limit. */
  readonly datagramQueue: number;
  /** Total JsVar blocks reported by process.memory() (ESP32 with Wi-Fi: about 2,500-3,500). */
  readonly memoryBlocks: number;
  /** Bytes per JsVar block (`process.memory().blocksize`). */
  readonly blockBytes: number;
  /** How strings, names and flat buffers fill blocks on this build (memory.ts). */
  readonly blocks: BlockGeometry;
  /**
   * Largest datagram `send` accepts, in bytes. ESP32 copies it onto the 25,000-byte JavaScript
   * task stack and throws "Not enough stack memory" when it does not fit: the emulator uses
   * 20,000 bytes (an estimate of what is left of that stack in a callback). UDP's own limit is
   * 65,507.
   */
  readonly maxSendBytes: number;
}

/** Built-in modules of the emulator, as `process.env.MODULES` lists them (comma-separated). */
export const EMULATED_MODULES: readonly string[] = ["dgram", "Wifi", "Storage", "Flash", "ESP32"];

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  esp32: {
    name: "esp32",
    board: "EMULATOR",
    version: "2v29",
    wifi: true,
    datagramQueue: 6,
    memoryBlocks: 3000,
    blockBytes: 14,
    blocks: ESP32_BLOCKS,
    maxSendBytes: 20000,
  },
  linux: {
    name: "linux",
    board: "EMULATOR",
    version: "2v29",
    wifi: false,
    datagramQueue: 0,
    memoryBlocks: 3000,
    blockBytes: 27,
    blocks: LINUX_BLOCKS,
    maxSendBytes: 65507,
  },
};

/** The modules `require` resolves under `profile` (no Wifi nor ESP32 on the Linux profile). */
export function modulesOf(profile: Profile): string[] {
  return EMULATED_MODULES.filter((m) => profile.wifi || (m !== "Wifi" && m !== "ESP32"));
}
