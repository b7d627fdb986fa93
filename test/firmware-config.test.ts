import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONFIG_FILE, checkConfig, loadConfig } from "../firmware/config.js";
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

const MISSING = "config: syfala.json missing or bad, using defaults";

describe("loadConfig", () => {
  it("uses the file syfala.json, a name Storage keeps whole", () => {
    expect(CONFIG_FILE).toBe("syfala.json");
  });

  it("gives the documented defaults, and says so, when the file is missing", () => {
    const r = loadConfig(new FakeStorage());
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems).toEqual([MISSING]);
  });

  it("gives the defaults when the file is not valid JSON", () => {
    const s = new FakeStorage();
    s.writeText("syfala.json", "{ port: 1 ");
    const r = loadConfig(s);
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems).toEqual([MISSING]);
  });

  it("gives the defaults when the file is not an object", () => {
    for (const v of [[1, 2], "text", 42, null]) {
      const r = loadConfig(stored(v));
      expect(r.config).toEqual(EXPECTED_DEFAULTS);
      expect(r.problems).toEqual([MISSING]);
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

  it("returns a new configuration each time: changing one does not change the defaults", () => {
    const a = checkConfig({}).config as unknown as { inputs: { toneHz: number }[]; wifi: { ssid: string } };
    (a.inputs[0] as { toneHz: number }).toneHz = 1;
    a.wifi.ssid = "x";
    expect(checkConfig({}).config).toEqual(EXPECTED_DEFAULTS);
  });
});

describe("checkConfig fallbacks", () => {
  it("falls back field by field, with one short line per field", () => {
    const r = checkConfig({
      wifi: { ssid: "x".repeat(33), password: "ok" },
      port: 70000,
      hostname: "bad name",
      maxClients: 0,
      maxStreamingClients: 1.5,
      statusEveryMs: -1,
    });
    expect(r.config).toEqual({ ...EXPECTED_DEFAULTS, wifi: { ssid: "", password: "ok" } });
    expect(r.problems).toEqual([
      'config: wifi.ssid: bad, using ""',
      "config: port: bad, using 6910",
      'config: hostname: bad, using ""',
      "config: maxClients: bad, using 2",
      "config: maxStreamingClients: bad, using 1",
      "config: statusEveryMs: bad, using 10000",
    ]);
  });

  it("rejects values of the wrong type", () => {
    const r = checkConfig({
      wifi: { ssid: 5, password: null },
      port: "6910",
      hostname: 7,
      maxClients: true,
      maxStreamingClients: [1],
      statusEveryMs: {},
      inputs: [{ sampleRate: "16000", toneHz: "440", amplitude: false, source: 1, sampleType: 16 }],
    });
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems.length).toBe(12);
    for (const p of r.problems) expect(p).toMatch(/^config: [a-zA-Z.[\]0-9]+: bad, using /);
  });

  it("checks each field of a stream on its own", () => {
    const r = checkConfig({
      inputs: [
        { sampleRate: 0, channelCount: 2, source: "pattern" },
        { sampleType: "I12", toneHz: -5, amplitude: 2, source: "noise" },
        { channelCount: 17, bufferSize: 2 ** 32 },
      ],
      outputs: [{ bufferSize: -1, sink: "speaker", sampleRate: 2e6, sampleType: "U8" }],
    });
    const d = EXPECTED_DEFAULTS.inputs[0];
    expect(r.config.inputs).toEqual([{ ...d, channelCount: 2, source: "pattern" }, d, d]);
    expect(r.config.outputs).toEqual([{ ...EXPECTED_DEFAULTS.outputs[0], sampleType: "U8" }]);
    expect([...r.problems].sort()).toEqual(
      [
        "config: inputs[0].sampleRate: bad, using 16000",
        'config: inputs[1].sampleType: bad, using "I16"',
        'config: inputs[1].source: bad, using "tone"',
        "config: inputs[1].toneHz: bad, using 440",
        "config: inputs[1].amplitude: bad, using 0.5",
        "config: inputs[2].channelCount: bad, using 1",
        "config: inputs[2].bufferSize: bad, using 256",
        "config: outputs[0].sampleRate: bad, using 16000",
        "config: outputs[0].bufferSize: bad, using 256",
        'config: outputs[0].sink: bad, using "discard"',
      ].sort(),
    );
  });

  it("accepts the documented ranges at their edges", () => {
    const edge = {
      sampleRate: 1e6,
      channelCount: 16,
      bufferSize: 2 ** 32 - 1,
      sampleType: "IEEF64",
      source: "tone",
      toneHz: 0.5 + 0.5,
      amplitude: 0,
    };
    const r = checkConfig({
      wifi: { ssid: "s".repeat(32), password: "p".repeat(64) },
      port: 65535,
      hostname: "a".repeat(32),
      inputs: [
        edge,
        { ...edge, sampleRate: 44100.5, toneHz: 1e6, amplitude: 1, channelCount: 1, bufferSize: 0 },
      ],
      maxClients: 8,
      maxStreamingClients: 8,
      statusEveryMs: 86400000,
    });
    expect(r.problems).toEqual([]);
    expect(checkConfig({ port: 1, maxClients: 1, statusEveryMs: 0 }).problems).toEqual([]);
  });

  it("accepts hostnames of letters, digits and '-', not starting with '-'", () => {
    for (const h of ["", "desk-1", "A", "0abc", "syfala-ABCD", "a-"]) {
      expect(checkConfig({ hostname: h }).problems).toEqual([]);
    }
    for (const h of ["-a", "a b", "a_b", "a.b", "é", "a".repeat(33), "a-b!"]) {
      expect(checkConfig({ hostname: h }).problems).toEqual(['config: hostname: bad, using ""']);
    }
  });

  it("reports unknown fields (typos) and ignores them", () => {
    const r = checkConfig({ prot: 7000, inputs: [{ samplerate: 8000 }], wifi: { SSID: "x" } });
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.problems).toEqual([
      "config: prot: unknown, ignored",
      "config: wifi.SSID: unknown, ignored",
      "config: inputs[0].samplerate: unknown, ignored",
    ]);
  });

  it("rejects stream lists that are not lists of at most 8 objects", () => {
    const nine = Array.from({ length: 9 }, () => ({}));
    const r = checkConfig({ inputs: nine, outputs: "none" });
    expect(r.config.inputs).toEqual(EXPECTED_DEFAULTS.inputs);
    expect(r.config.outputs).toEqual(EXPECTED_DEFAULTS.outputs);
    expect(r.problems).toEqual([
      "config: inputs: bad, using defaults",
      "config: outputs: bad, using defaults",
    ]);
    const eight = checkConfig({ inputs: nine.slice(1) });
    expect(eight.problems).toEqual([]);
    expect(eight.config.inputs.length).toBe(8);
    const s = checkConfig({ inputs: [5], wifi: "home" });
    expect(s.config.inputs).toEqual(EXPECTED_DEFAULTS.inputs);
    expect(s.problems).toEqual([
      "config: wifi: bad, using defaults",
      "config: inputs[0]: bad, using defaults",
    ]);
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
    const line = (i: number) => "config: loopback " + i + ": no like pair, using tone/discard";
    const r = checkConfig({ inputs: [{ source: "loopback" }], outputs: [] });
    expect(r.config.inputs[0]?.source).toBe("tone");
    expect(r.problems).toEqual([line(0)]);
    const s = checkConfig({ inputs: [{}, { source: "silence" }], outputs: [{}, { sink: "loopback" }] });
    expect(s.config.inputs[1]?.source).toBe("silence");
    expect(s.config.outputs[1]?.sink).toBe("discard");
    expect(s.problems).toEqual([line(1)]);
    const t = checkConfig({ inputs: [{}, {}, { source: "loopback" }], outputs: [{}] });
    expect(t.problems).toEqual([line(2)]);
  });

  it("undoes a loopback pair whose formats differ in rate, channels or sample type", () => {
    for (const diff of [{ sampleRate: 48000 }, { channelCount: 2 }, { sampleType: "I24" }]) {
      const r = checkConfig({
        inputs: [{ source: "loopback", ...diff }],
        outputs: [{ sink: "loopback" }],
      });
      expect(r.config.inputs[0]?.source).toBe("tone");
      expect(r.config.outputs[0]?.sink).toBe("discard");
      expect(r.problems.length).toBe(1);
    }
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
    expect(checkConfig({}).config).toEqual(EXPECTED_DEFAULTS);
  });
});
