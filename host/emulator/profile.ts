/**
 * What kind of board an emulated board pretends to be. Two profiles:
 * - `esp32` (the default): `require("Wifi")` exists and the board is on the LAN only while its
 *   station is connected to the emulated access point; each socket queues at most 6 datagrams
 *   between two passes of the interpreter loop (ESP32's lwIP receive mailbox), more are dropped;
 *   an `ESP32` global exists; 3000 JsVar blocks of 14 bytes.
 * - `linux`: like Espruino's Linux build: `require("Wifi")` throws, the network is always up, no
 *   receive queue limit.
 * `process.env.BOARD` is "EMULATOR" in both, so firmware cannot mistake the emulator for a board.
 */

export type ProfileName = "esp32" | "linux";

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
    maxSendBytes: 20000,
  },
  linux: {
    name: "linux",
    board: "EMULATOR",
    version: "2v29",
    wifi: false,
    datagramQueue: 0,
    memoryBlocks: 3000,
    blockBytes: 14,
    maxSendBytes: 65507,
  },
};

/** The modules `require` resolves under `profile` (no Wifi nor ESP32 on the Linux profile). */
export function modulesOf(profile: Profile): string[] {
  return EMULATED_MODULES.filter((m) => profile.wifi || (m !== "Wifi" && m !== "ESP32"));
}
