/**
 * `make bench`: every benchmark in one run, each printing its baseline from the same run.
 * `BENCH=codec make bench` runs one of them.
 */
import { cpus } from "node:os";
import { benchCodec } from "./codec.js";
import { benchEmulator } from "./emulator.js";
import { benchEngine } from "./engine.js";

const only = process.env.BENCH;
const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(`syfala benchmarks — node ${process.version}, ${cpus().length} x ${cpu}`);

if (!only || only === "codec") benchCodec();
if (!only || only === "engine") benchEngine();
if (!only || only === "emulator") await benchEmulator();
