/**
 * The emulator against values measured on the real Espruino 2v29 interpreter (its Linux build),
 * copied here as literals (issue 11): equality of typed arrays and ArrayBuffers (compared by
 * their text on Espruino, by identity in V8), which the loader emulates by rewriting the
 * operators (host/emulator/equality.ts), and Espruino's JSON.stringify (`JSON.stringify(undefined)`
 * is the string "null"; host/emulator/intrinsics.ts). Each expression ran on the interpreter as
 * `console.log(String(EXPR))`; here as `print(String(EXPR))`.
 */
import { describe, expect, it } from "vitest";
import { EQUALITY_HELPERS, rewriteEquality } from "../host/emulator/equality.js";
import { runScript } from "../host/emulator/script.js";

/** [expression, what Espruino 2v29 printed for String(expression)]. */
type Measured = readonly [string, string];

const COMPARISONS: readonly Measured[] = [
  ["new Uint8Array(4) === new Uint8Array(4)", "true"],
  ["new Uint8Array(4) == new Uint8Array(4)", "true"],
  ["new Uint8Array(4) !== new Uint8Array(4)", "false"],
  ["new Uint8Array(4) != new Uint8Array(4)", "false"],
  ["new Uint8Array(4) === new Uint8Array(3)", "false"],
  ["new Uint8Array([1,2]) === new Int8Array([1,2])", "true"],
  ["new Uint8Array([255]) === new Int8Array([-1])", "false"],
  ["new Uint8Array([1,2]) === new Float32Array([1,2])", "true"],
  ["new Uint16Array([256]) === new Uint8Array([0,1])", "false"],
  ["new ArrayBuffer(4) === new ArrayBuffer(4)", "true"],
  ["new ArrayBuffer(4) === new ArrayBuffer(3)", "false"],
  ["new ArrayBuffer(4) === new Uint8Array(4)", "true"],
  ["new Uint16Array([258]).buffer === new Uint8Array([2,1])", "true"],
  ["(function(){var a=new Uint8Array(4), b=new Uint8Array(4); return a.buffer !== b.buffer;})()", "false"],
  ["(function(){var x=new Uint8Array(2), y=new Uint8Array(2); y[1]=1; return x === y;})()", "false"],
  ["new Uint8Array(4).subarray(0,2) === new Uint8Array(4).subarray(2,4)", "true"],
  ["new Uint8Array(0) === new Uint8Array(0)", "true"],
  ["new Uint8Array(4) === '0,0,0,0'", "false"],
  ["new Uint8Array(4) == '0,0,0,0'", "true"],
  ["'0,0,0,0' == new Uint8Array(4)", "true"],
  ["new ArrayBuffer(2) == '0,0'", "true"],
  ["new ArrayBuffer(2) === '0,0'", "false"],
  ["new Uint8Array([5]) === 5", "false"],
  ["new Uint8Array([5]) == 5", "true"],
  ["new Uint8Array(0) == 0", "false"],
  ["new Uint8Array([0]) == false", "false"],
  ["new Uint8Array([1]) == true", "false"],
  ["new Float32Array([NaN]) == NaN", "true"],
  ["new Uint8Array([1,2]) === [1,2]", "false"],
  ["new Uint8Array([1,2]) == [1,2]", "true"],
  ["[1,2] == new Uint8Array([1,2])", "true"],
  ["new Uint8Array([1,2]) == [1,[2]]", "true"],
  ["new Uint8Array(0) == {}", "false"],
  ["new Uint8Array([5]) == {valueOf:function(){return 5}}", "true"],
  ["new Uint8Array(4) === undefined", "false"],
  ["new Uint8Array(4) == undefined", "false"],
  ["new Uint8Array(4) !== null", "true"],
  ["new Uint8Array(4) == null", "false"],
  ["new DataView(new ArrayBuffer(4)) === new DataView(new ArrayBuffer(4))", "false"],
  ["new Uint8Array(0) == new DataView(new ArrayBuffer(0))", "false"],
  ["[1,2] === [1,2]", "false"],
  ["({}) == ({})", "false"],
  ["[new Uint8Array(2)].indexOf(new Uint8Array(2))", "0"],
  ["[new Uint8Array(2)].includes(new Uint8Array(2))", "true"],
  ["String(new Uint8Array([1,2]).buffer)", "1,2"],
  ["new ArrayBuffer(2) + ''", "0,0"],
];

const JSON_STRINGIFY: readonly Measured[] = [
  ["JSON.stringify(undefined)", "null"],
  ["typeof JSON.stringify(undefined)", "string"],
  ["JSON.stringify(function(){})", "undefined"],
  ["typeof JSON.stringify(function(){})", "string"],
  ["JSON.stringify({a:undefined, f:function(){}, b:1})", '{"b":1}'],
  ["JSON.stringify([undefined, function(){}, null])", "[null,undefined,null]"],
  ["JSON.stringify({a:{b:undefined,c:1}})", '{"a":{"c":1}}'],
  ["JSON.stringify(NaN) + JSON.stringify([Infinity])", "null[null]"],
  ["JSON.stringify(new Uint8Array([1,2]))", "[1,2]"],
  ["JSON.stringify(new Uint8Array([1,2]).buffer)", "[1,2]"],
  ["JSON.stringify({u:new Int8Array([-1,2])})", '{"u":[-1,2]}'],
  ["JSON.stringify(new DataView(new ArrayBuffer(2)))", '{"buffer":[0,0],"byteOffset":0,"byteLength":2}'],
  [
    "JSON.stringify('\\x00\\x07\\b\\t\\n\\x0b\\f\\r\\x1f\"\\\\/\\x7f\\x80\\xe9\\xff')",
    '"\\u0000\\u0007\\b\\t\\n\\u000B\\f\\r\\u001F\\"\\\\/\\u007F\\u0080\\u00E9\\u00FF"',
  ],
  ["JSON.stringify({get g(){return 1}, x:2})", '{"x":2}'],
  ["JSON.stringify({toJSON:function(){return 5}})", "5"],
  ["JSON.stringify({a:1,b:[1,2]},null,2)", '{ \n  "a": 1, \n  "b": [ \n    1, \n    2\n   ]\n }'],
  [
    "JSON.stringify({a:[1,{b:2}]},null,4)",
    '{ \n    "a": [ \n        1, \n        { \n            "b": 2\n         }\n     ]\n }',
  ],
  ["JSON.stringify([1],null,'ab')", "[ \nab1\n ]"],
  ["JSON.stringify([],null,2) + JSON.stringify({},null,2)", "[  ]{  }"],
];

async function emulated(expression: string): Promise<string> {
  const r = await runScript(`print(String(${expression}));`);
  expect(r.error, expression).toBeUndefined();
  return r.output.join("\n");
}

describe("the emulator compares typed arrays and ArrayBuffers as Espruino does", () => {
  for (const [expression, espruino] of COMPARISONS) {
    it(`${expression} is ${espruino}`, async () => {
      expect(await emulated(expression)).toBe(espruino);
    });
  }

  it("inside functions, firmware-style: a.buffer !== b is false for two equal buffers", async () => {
    const r = await runScript(
      "function Udp() { this.whole = undefined; } Udp.prototype.view = function (data) {" +
        " var b = data.buffer, w = this.whole; if (w === undefined || w.buffer !== b) this.whole = w = new Uint8Array(b);" +
        " return w; }; var u = new Udp(); var first = u.view(new Uint8Array(8)); print(u.view(new Uint8Array(8)) === first);",
    );
    expect(r.output).toEqual(["true"]);
  });
});

describe("the loader's rewrite of equality operators", () => {
  const [seq, sne, leq, lne] = [
    EQUALITY_HELPERS["==="],
    EQUALITY_HELPERS["!=="],
    EQUALITY_HELPERS["=="],
    EQUALITY_HELPERS["!="],
  ];

  it("turns each operator into its helper and keeps the text about as long", () => {
    expect(rewriteEquality("f(a === b, a!==b, a == b, a != b);")).toBe(
      `f(${seq}(a, b), ${sne}(a,b), ${leq}(a, b), ${lne}(a, b));`,
    );
    expect(rewriteEquality("var x = a === b;").length).toBe("var x = a === b;".length);
  });

  it("leaves comparisons that cannot hold a typed array on both sides", () => {
    for (const code of [
      "x === 1;",
      "x !== 'a';",
      "x === undefined;",
      "x == null;",
      "typeof x === 'string';",
      "x === y + 1;",
      "x == void 0;",
      "(a === b) === c;",
    ]) {
      expect(rewriteEquality(code).split(seq).length, code).toBeLessThanOrEqual(2);
      expect(rewriteEquality(code).includes(leq), code).toBe(false);
    }
    expect(rewriteEquality("x === 1 || y !== null;")).toBe("x === 1 || y !== null;");
    expect(rewriteEquality("x == 1;")).toBe(`${leq}(x, 1);`);
  });

  it("keeps parentheses, nesting, a keyword before the call, and code that does not parse", () => {
    expect(rewriteEquality("(a, b) === (c);")).toBe(`${seq}((a, b), (c));`);
    expect(rewriteEquality("f(x.y === (b === c), p(q === r) === s);")).toBe(
      `f(x.y === (${seq}(b, c)), ${seq}(p(${seq}(q, r)), s));`,
    );
    expect(rewriteEquality('function g(){return"a"==b}')).toBe(`function g(){return ${leq}("a",b)}`);
    expect(rewriteEquality("var = === ;")).toBe("var = === ;");
  });
});

describe("the emulator's JSON.stringify is Espruino's", () => {
  for (const [expression, espruino] of JSON_STRINGIFY) {
    it(`${expression} is ${JSON.stringify(espruino)}`, async () => {
      expect(await emulated(expression)).toBe(espruino);
    });
  }

  it("Storage.writeJSON(name, undefined) stores the text null, as on Espruino", async () => {
    const r = await runScript(
      "var S = require('Storage'); S.writeJSON('x.json', undefined); print(S.read('x.json'), typeof S.readJSON('x.json'));",
    );
    expect(r.output).toEqual(["null object"]);
  });
});
