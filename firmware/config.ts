/**
 * The firmware's configuration, read from Storage at boot. Its schema and check are shared with
 * the host's tools (shared/board-config.ts); only the reading is the firmware's.
 */
import { CONFIG_FILE, checkConfig, type LoadedConfig } from "../shared/board-config.js";
import type { StorageModule } from "./board/espruino.js";

export {
  CONFIG_FILE,
  checkConfig,
  type FirmwareConfig,
  type InputConfig,
  type LoadedConfig,
  type OutputConfig,
  type SinkKind,
  type SourceKind,
} from "../shared/board-config.js";

/** Reads `syfala.json` from Storage (undefined when missing or not JSON) and checks it (checkConfig). */
export function loadConfig(storage: StorageModule): LoadedConfig {
  return checkConfig(storage.readJSON(CONFIG_FILE, true));
}
