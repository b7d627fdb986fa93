/**
 * `make bench`: every benchmark in one run, each printing its baseline from the same run.
 * `BENCH=codec make bench` runs one of them (codec, engine, emulator, espruino: the real
 * interpreter, when ESPRUINO_BIN names one).
 */
import { cpus } from "node:os";
import { benchCodec } from "./codec.js";
import { benchEmulator } from "./emulator.js";
import { benchEngine } from "./engine.js";
import { benchEspruino } from "./espruino.js";
import { printSummary } from "./summary.js";

const only = process.env.BENCH;
const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(`syfala benchmarks — node ${process.version}, ${cpus().length} x ${cpu}`);

const codec = !only || only === "codec" ? benchCodec() : undefined;
const engine = !only || only === "engine" ? benchEngine() : undefined;
const emulator = !only || only === "emulator" ? await benchEmulator() : undefined;
const espruino = !only || only === "espruino" ? await benchEspruino() : undefined;
printSummary({
  ...(codec ? { codec } : {}),
  ...(engine ? { engine } : {}),
  ...(emulator ? { emulator } : {}),
  ...(espruino ? { espruino } : {}),
});
