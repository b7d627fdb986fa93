import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONFIG_FILE, checkConfig, DEFAULT_CONFIG, loadConfig } from "../firmware/config.js";
import { formatProblem } from "../shared/format.js";
import { FakeStorage } from "./support/espruino-fakes.js";

/** The documented defaults, written out by hand. */
const EXPECTED_DEFAULTS = {
  wifi: { ssid: "", password: "" },
  port: 6910,
  hostname: "",
  inputs: [
    {
      sampleRate: 16000,
      channelCount: 1,
      bufferSize: 256,
      sampleType: "I16",
      source: "tone",
      toneHz: 440,
      amplitude: 0.5,
    },
  ],
  outputs: [{ sampleRate: 16000, channelCount: 1, bufferSize: 256, sampleType: "I16", sink: "discard" }],
  maxClients: 2,
  maxStreamingClients: 1,
  statusEveryMs: 10000,
};

const FULL = {
  wifi: { ssid: "studio", password: "0123456789" },
  port: 7000,
  hostname: "desk-1",
  inputs: [
    {
      sampleRate: 48000,
      channelCount: 2,
      bufferSize: 64,
      sampleType: "IEEF32",
      source: "pattern",
      toneHz: 1000,
      amplitude: 0.25,
    },
    {
      sampleRate: 8000,
      channelCount: 1,
      bufferSize: 0,
      sampleType: "U8",
      source: "loopback",
      toneHz: 440,
      amplitude: 0.5,
    },
  ],
  outputs: [
    { sampleRate: 44100, channelCount: 2, bufferSize: 128, sampleType: "I24", sink: "discard" },
    { sampleRate: 8000, channelCount: 1, bufferSize: 32, sampleType: "U8", sink: "loopback" },
  ],
  maxClients: 4,
  maxStreamingClients: 2,
  statusEveryMs: 0,
};

function stored(value: unknown): FakeStorage {
  const s = new FakeStorage();
  s.writeJSON("syfala.json", value);
  return s;
}

describe("loadConfig", () => {
  it("uses the file syfala.json, a name Storage keeps whole", () => {
    expect(CONFIG_FILE).toBe("syfala.json");
  });

  it("gives the documented defaults, and says so, when the file is missing", () => {
    const r = loadConfig(new FakeStorage());
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(DEFAULT_CONFIG).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]).toMatch(/^config: syfala\.json is missing or not valid JSON/);
  });

  it("gives the defaults when the file is not valid JSON", () => {
    const s = new FakeStorage();
    s.writeText("syfala.json", "{ port: 1 ");
    const r = loadConfig(s);
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems[0]).toContain("not valid JSON");
  });

  it("gives the defaults when the file is not an object", () => {
    for (const v of [[1, 2], "text", 42, null]) {
      const r = loadConfig(stored(v));
      expect(r.config).toEqual(EXPECTED_DEFAULTS);
      expect(r.problems.length).toBe(1);
    }
  });

  it("takes a complete valid file as it is, with no problems", () => {
    const r = loadConfig(stored(FULL));
    expect(r.problems).toEqual([]);
    expect(r.config).toEqual(FULL);
  });

  it("fills missing fields with defaults silently", () => {
    const r = loadConfig(stored({ port: 7001, inputs: [{ source: "silence" }], outputs: [] }));
    expect(r.problems).toEqual([]);
    expect(r.config.port).toBe(7001);
    expect(r.config.inputs).toEqual([{ ...EXPECTED_DEFAULTS.inputs[0], source: "silence" }]);
    expect(r.config.outputs).toEqual([]);
    expect(r.config.wifi).toEqual({ ssid: "", password: "" });
  });
});

describe("checkConfig fallbacks", () => {
  it("falls back field by field and returns one reason per field", () => {
    const r = checkConfig({
      wifi: { ssid: "x".repeat(33), password: "ok" },
      port: 70000,
      hostname: "bad name",
      maxClients: 0,
      maxStreamingClients: 1.5,
      statusEveryMs: -1,
    });
    expect(r.config).toEqual({ ...EXPECTED_DEFAULTS, wifi: { ssid: "", password: "ok" } });
    const text = r.problems.join("\n");
    expect(r.problems.length).toBe(6);
    expect(text).toContain("config: wifi.ssid");
    expect(text).toContain("config: port 70000 is not an integer in 1..65535; using 6910");
    expect(text).toContain('config: hostname "bad name"');
    expect(text).toContain("config: maxClients 0");
    expect(text).toContain("config: maxStreamingClients 1.5");
    expect(text).toContain("config: statusEveryMs -1");
    for (const p of r.problems) expect(p).toMatch(/^config: .*; using /);
  });

  it("checks a stream's format as a whole and its other fields one by one", () => {
    const r = checkConfig({
      inputs: [
        { sampleRate: 0, channelCount: 2, source: "pattern" },
        { sampleType: "I12", toneHz: -5, amplitude: 2, source: "noise" },
        { channelCount: 17 },
      ],
      outputs: [{ bufferSize: -1, sink: "speaker" }],
    });
    const d = EXPECTED_DEFAULTS.inputs[0];
    expect(r.config.inputs).toEqual([{ ...d, source: "pattern" }, d, d]);
    expect(r.config.outputs).toEqual(EXPECTED_DEFAULTS.outputs);
    const text = r.problems.join("\n");
    expect(text).toContain("config: inputs[0]: sample rate 0");
    expect(text).toContain("config: inputs[1]: sample type I12");
    expect(text).toContain("config: inputs[1].toneHz -5");
    expect(text).toContain("config: inputs[1].amplitude 2");
    expect(text).toContain('config: inputs[1].source "noise"');
    expect(text).toContain("config: inputs[2]: more than 16 channels");
    expect(text).toContain("config: outputs[0]: buffer size -1");
    expect(text).toContain('config: outputs[0].sink "speaker"');
    expect(r.problems.length).toBe(8);
  });

  it("reports unknown fields (typos) and ignores them", () => {
    const r = checkConfig({ prot: 7000, inputs: [{ samplerate: 8000 }], wifi: { SSID: "x" } });
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems).toEqual([
      "config: prot is not a known field; ignored",
      "config: wifi.SSID is not a known field; ignored",
      "config: inputs[0].samplerate is not a known field; ignored",
    ]);
  });

  it("rejects stream lists that are not lists of at most 8 objects", () => {
    const nine = Array.from({ length: 9 }, () => ({}));
    const r = checkConfig({ inputs: nine, outputs: "none" });
    expect(r.config.inputs).toEqual(EXPECTED_DEFAULTS.inputs);
    expect(r.config.outputs).toEqual(EXPECTED_DEFAULTS.outputs);
    expect(r.problems.length).toBe(2);
    const s = checkConfig({ inputs: [5], wifi: "home" });
    expect(s.config.inputs).toEqual(EXPECTED_DEFAULTS.inputs);
    expect(s.problems.join("\n")).toContain("config: inputs[0] 5 is not an object");
    expect(s.problems.join("\n")).toContain('config: wifi "home" is not an object');
  });

  it("accepts a loopback pair with matching formats", () => {
    const f = { sampleRate: 16000, channelCount: 1, sampleType: "I16" };
    const r = checkConfig({
      inputs: [{ ...f, source: "loopback" }],
      outputs: [{ ...f, bufferSize: 32, sink: "loopback" }],
    });
    expect(r.problems).toEqual([]);
    expect(r.config.inputs[0]?.source).toBe("loopback");
    expect(r.config.outputs[0]?.sink).toBe("loopback");
  });

  it("requires an output to reflect from for a loopback input, and vice versa", () => {
    const r = checkConfig({ inputs: [{ source: "loopback" }], outputs: [] });
    expect(r.config.inputs[0]?.source).toBe("tone");
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]).toMatch(/^config: inputs\[0\]\.source loopback .*; using tone$/);
    const s = checkConfig({ inputs: [{}, { source: "silence" }], outputs: [{}, { sink: "loopback" }] });
    expect(s.config.outputs[1]?.sink).toBe("discard");
    expect(s.problems.length).toBe(1);
    expect(s.problems[0]).toMatch(/^config: outputs\[1\]\.sink loopback .*; using discard$/);
  });

  it("undoes a loopback pair whose formats differ", () => {
    const r = checkConfig({
      inputs: [{ source: "loopback", sampleRate: 48000 }],
      outputs: [{ sink: "loopback", sampleRate: 16000 }],
    });
    expect(r.config.inputs[0]?.source).toBe("tone");
    expect(r.config.outputs[0]?.sink).toBe("discard");
    expect(r.problems.length).toBe(2);
  });

  it("never throws and always returns a usable configuration, whatever the file holds", () => {
    const field = fc.oneof(
      fc.constantFrom(
        "port",
        "hostname",
        "maxClients",
        "maxStreamingClients",
        "statusEveryMs",
        "wifi",
        "inputs",
        "outputs",
      ),
      fc.string(),
    );
    const streamField = fc.constantFrom(
      "sampleRate",
      "channelCount",
      "bufferSize",
      "sampleType",
      "source",
      "sink",
      "toneHz",
      "amplitude",
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom("tone", "pattern", "loopback", "silence", "discard", "I16", "U8", "IEEF64"),
      fc.array(fc.dictionary(streamField, fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.integer())), {
        maxLength: 9,
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(field, value)), (raw) => {
        const { config: c, problems } = checkConfig(raw);
        expect(Array.isArray(problems)).toBe(true);
        expect(Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535).toBe(true);
        expect(Number.isInteger(c.maxClients) && c.maxClients >= 1 && c.maxClients <= 8).toBe(true);
        expect(c.maxStreamingClients >= 1 && c.maxStreamingClients <= 8).toBe(true);
        expect(c.statusEveryMs >= 0).toBe(true);
        expect(typeof c.hostname).toBe("string");
        expect(typeof c.wifi.ssid === "string" && typeof c.wifi.password === "string").toBe(true);
        expect(c.inputs.length <= 8 && c.outputs.length <= 8).toBe(true);
        for (const s of [...c.inputs, ...c.outputs]) {
          expect(formatProblem(s)).toBeUndefined();
          expect(s.channelCount).toBeLessThanOrEqual(16);
        }
        for (const s of c.inputs) {
          expect(["tone", "pattern", "loopback", "silence"]).toContain(s.source);
          expect(s.toneHz > 0 && s.amplitude >= 0 && s.amplitude <= 1).toBe(true);
        }
        c.inputs.forEach((s, i) => {
          const o = c.outputs[i];
          if (s.source === "loopback") expect(o?.sink).toBe("loopback");
        });
        c.outputs.forEach((o, i) => {
          expect(["discard", "loopback"]).toContain(o.sink);
          if (o.sink === "loopback") expect(c.inputs[i]?.source).toBe("loopback");
        });
      }),
      { numRuns: 500 },
    );
    expect(DEFAULT_CONFIG).toEqual(EXPECTED_DEFAULTS); // never mutated
  });
});
