#!/usr/bin/env node
// The `syfala` command. The CLI is TypeScript run through tsx's loader, so that `npx syfala`
// works straight after `npm ci` with no build step and always runs the sources in the tree.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../host/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
