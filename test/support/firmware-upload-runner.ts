/**
 * Runs inside a network namespace of its own (see test/emulator-firmware.test.ts), like
 * test/fixtures/emulator/upload-runner.ts but with the REAL firmware: starts one emulated board
 * holding only its configuration (no program), uploads build/firmware/syfala.min.js through the
 * board's TCP console with the real upload tool (node_modules/espruino), then looks for the board
 * with the project's client engine by broadcast, connects and starts IO.
 * Usage: `node --import tsx test/support/firmware-upload-runner.ts PORT CLIENT_PORT`.
 * Prints one JSON line: {toolExit, toolOutput, connected, formats, audio, log}.
 */
import { fileURLToPath } from "node:url";
import { type LogEntry, startBoards } from "../../host/emulator/index.js";
import type { StreamFormats } from "../../shared/format.js";
import { postcard } from "../../shared/wire/postcard.js";
import { startDriver } from "./engine-driver.js";
import { runEspruinoTool } from "./espruino-tool.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIRMWARE = `${ROOT}build/firmware/syfala.min.js`;
const port = Number(process.argv[2]);
const clientPort = Number(process.argv[3]);

interface Result {
  toolExit: number | null;
  toolOutput: string;
  connected: string | null;
  formats: StreamFormats | null;
  audio: number;
  error: string | null;
  log: string[];
}

const tool = (consolePort: number) => runEspruinoTool(consolePort, FIRMWARE, false, 60000);

const log: LogEntry[] = [];
const lan = await startBoards({
  count: 1,
  config: {
    wifi: { ssid: "upload-lab", password: "pw" },
    port,
    statusEveryMs: 0,
    inputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 64, sampleType: "I16", source: "pattern" }],
    outputs: [{ sampleRate: 8000, channelCount: 1, bufferSize: 64, sampleType: "I16", sink: "discard" }],
  },
  wifiTiming: { connectDelayMs: 10, retryMs: 50 },
  onLog: (e) => log.push(e),
});
const board = lan.boards[0];
const result: Result = {
  toolExit: null,
  toolOutput: "",
  connected: null,
  formats: null,
  audio: 0,
  error: null,
  log: [],
};
try {
  if (board === undefined || board.consolePort === undefined) throw new Error("no board console");
  const up = await tool(board.consolePort);
  result.toolExit = up.code;
  result.toolOutput = up.output;
  const d = await startDriver(
    { address: "127.0.0.1", port: clientPort },
    { codecs: { postcard }, targets: [{ address: "127.255.255.255", port }] },
  );
  try {
    d.onAudio = () => {
      result.audio++;
    };
    d.act((e, now) => e.startDiscovery(now));
    const c = await d.waitFor((e) => e.type === "connected", 5000);
    if (c.event.type === "connected") {
      result.connected = c.event.peer;
      result.formats = c.event.formats;
      d.act((e, now) => e.startIO(c.event.peer, now));
      await d.waitFor((e) => e.type === "ioStarted", 3000);
      await d.until(() => result.audio >= 5, 3000, "5 audio messages");
    }
  } finally {
    d.close();
  }
} catch (e) {
  result.error = String(e);
} finally {
  await lan.stop();
}
result.log = log.map((e) => `${e.kind}: ${e.text}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
