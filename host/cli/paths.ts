/**
 * Where the package's own files are: default firmware paths resolve from the package, not from
 * the working directory, so that `syfala emulate` works from any folder.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root folder (the one holding package.json and build/). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `relative` (e.g. "build/firmware/syfala.min.js") inside the package. */
export function inPackage(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}
