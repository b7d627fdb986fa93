/**
 * The Espruino-subset gate: reads JavaScript (the firmware file that `tsc --target ES2015`
 * emits, or anything the emulator is about to load) and reports every construct that real
 * Espruino 2v29 rejects, lacks, or runs differently from Node, as far as it is visible in the
 * syntax (see /work/shared/spec/ESPRUINO.md). tsc accepts all of these, so the build has to
 * check its own output.
 *
 * It parses with the newest ECMAScript grammar so that modern syntax is reported by name rather
 * than as a parse failure; a real parse failure is itself a violation ("syntax"). It resolves
 * names through a small scope model of its own, so that a local `Map` or `f` is not mistaken for
 * the global or for a later function declaration.
 *
 * CLI: `npx tsx scripts/espruino-gate.ts [--allow-module NAME]... FILE...` prints one violation
 * per line and exits 1 if there is any.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import {
  type AnonymousClassDeclaration,
  type AnonymousFunctionDeclaration,
  type AnyNode,
  type ArrowFunctionExpression,
  type CallExpression,
  type Class,
  type ClassDeclaration,
  type ClassExpression,
  type Expression,
  type FunctionDeclaration,
  type FunctionExpression,
  type Identifier,
  type Literal,
  type MemberExpression,
  type NewExpression,
  type Node,
  type Pattern,
  parse,
  type Statement,
} from "acorn";

/** One finding; `line` is 1-based, `column` is 1-based (in UTF-16 code units). */
export interface GateViolation {
  file: string;
  line: number;
  column: number;
  /** Short id of the construct, e.g. "destructuring", "missing-global". */
  construct: string;
  /** What is wrong on Espruino and what to write instead. */
  message: string;
}

export interface GateOptions {
  /** Module names a literal `require("name")` may use. Defaults to ESPRUINO_BUILTIN_MODULES. */
  allowedModules?: readonly string[];
}

/**
 * Modules built into Espruino (the ESP32 and Linux builds): the upload tool does not try to
 * download these. Any other literal `require("name")` makes it fetch "name" from the Internet.
 */
export const ESPRUINO_BUILTIN_MODULES: readonly string[] = [
  "dgram",
  "Wifi",
  "Storage",
  "Flash",
  "net",
  "http",
  "fs",
  "crypto",
  "tls",
  "ESP32",
  "NetworkJS",
  "Telnet",
  "TelnetServer",
  "heatshrink",
  "neopixel",
];

/** `file:line:col: construct: message`, the shape compilers use, so editors can jump to it. */
export function formatViolation(v: GateViolation): string {
  return `${v.file}:${v.line}:${v.column}: ${v.construct}: ${v.message}`;
}

// ---------------------------------------------------------------------------------------------
// What Espruino lacks, with what to write instead.

/** Globals Espruino does not define (measured, or absent from its documented classes). */
const MISSING_GLOBALS: Readonly<Record<string, string>> = {
  Map: "use a plain object with string keys (Object.create(null)) or parallel arrays",
  Set: "use a plain object with string keys as a set, or an array with indexOf",
  WeakMap: "store the value in a property of the key object",
  WeakSet: "mark the object with a property",
  WeakRef: "hold a plain reference",
  FinalizationRegistry: "release resources explicitly",
  Symbol: "use string property names",
  Proxy: "write the forwarding code explicitly",
  Reflect: "call Object.* / Function.prototype methods on instances directly",
  RangeError: "throw a plain Error",
  EvalError: "throw a plain Error",
  URIError: "throw a plain Error",
  AggregateError: "throw a plain Error",
  BigInt: "use the U64 {hi, lo} helpers (shared/u64.ts)",
  BigInt64Array: "use two Uint32 halves (shared/u64.ts)",
  BigUint64Array: "use two Uint32 halves (shared/u64.ts)",
  queueMicrotask: "use Promise.resolve().then(fn) or setTimeout(fn, 0)",
  Intl: "format numbers and dates by hand",
};

const ERROR_CONSTRUCTORS = new Set([
  "Error",
  "TypeError",
  "ReferenceError",
  "SyntaxError",
  "RangeError",
  "EvalError",
  "URIError",
  "InternalError",
  "AggregateError",
]);

const TYPED_ARRAYS = [
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
];

/** Static members missing on Espruino's global constructors/namespaces: `Global.member`. */
const MISSING_STATICS: Record<string, Record<string, string>> = {
  Array: { from: "build the array with a loop", of: "write an array literal" },
  Object: {
    freeze: "drop the call (nothing is frozen on Espruino); keep constants in a plain object",
    is: "use === (and x !== x for NaN)",
  },
  Math: {
    trunc: "use (x < 0 ? Math.ceil(x) : Math.floor(x)), or x | 0 for 32-bit values",
    fround: "round-trip through a Float32Array",
    clz32: "count leading zeros with a loop",
    imul: "multiply 16-bit halves: ((a & 0xffff) * b + (((a >>> 16) * b) << 16)) | 0",
    log2: "use Math.log(x) / Math.LN2",
    log10: "use Math.log(x) / Math.LN10",
    log1p: "use Math.log(1 + x)",
    expm1: "use Math.exp(x) - 1",
    hypot: "use Math.sqrt(a * a + b * b)",
    cbrt: "use Math.exp(Math.log(x) / 3) (with the sign handled)",
    sinh: "use (Math.exp(x) - Math.exp(-x)) / 2",
    cosh: "use (Math.exp(x) + Math.exp(-x)) / 2",
    tanh: "compute it from Math.exp",
    asinh: "compute it from Math.log and Math.sqrt",
    acosh: "compute it from Math.log and Math.sqrt",
    atanh: "compute it from Math.log",
  },
  Promise: { race: "settle a new Promise from the first callback that fires (with a done flag)" },
  ArrayBuffer: { isView: "test x.buffer instanceof ArrayBuffer" },
};
for (const t of TYPED_ARRAYS) {
  MISSING_STATICS[t] = { from: `use new ${t}(arrayLike) or a loop`, of: `use new ${t}([values])` };
}

/** Members missing on Espruino's instances, recognisable by name alone (read or called). */
const MISSING_MEMBERS: Readonly<Record<string, string>> = {
  BYTES_PER_ELEMENT: "is undefined on Espruino's typed arrays: write the element size as a literal",
  getBigUint64: "is missing: read two getUint32 halves (shared/u64.ts)",
  getBigInt64: "is missing: read two getUint32 halves (shared/u64.ts)",
  setBigUint64: "is missing: write two setUint32 halves (shared/u64.ts)",
  setBigInt64: "is missing: write two setUint32 halves (shared/u64.ts)",
  finally: "(Promise.prototype.finally) is missing: use .then(f, f)",
  flat: "(Array flat) is missing: concatenate in a loop",
  flatMap: "(Array flatMap) is missing: map, then concatenate in a loop",
  findLast: "(Array findLast) is missing: loop backwards",
  findLastIndex: "(Array findLastIndex) is missing: loop backwards",
  copyWithin: "(Array copyWithin) is missing: use typedArray.set(typedArray.subarray(...)) or a loop",
  lastIndexOf:
    "(Array lastIndexOf) is missing (String's exists, but the gate cannot tell them apart): loop backwards",
  codePointAt: "(String codePointAt) is missing: use charCodeAt",
  localeCompare: "(String localeCompare) is missing: compare with < and >",
  trimStart: "(String trimStart) is missing: use s.replace(/^\\s+/, '')",
  trimEnd: "(String trimEnd) is missing: use s.replace(/\\s+$/, '')",
};

/** Members missing on Espruino's instances that are also common data-property names: only calls count. */
const MISSING_CALLED: Readonly<Record<string, string>> = {
  at: "(Array/String at) is missing: index with x[i] (x[x.length - 1] for the last)",
};

/** Array iterator methods, missing on Espruino; only zero-argument calls count (Object.keys(o) is fine). */
const MISSING_ITERATORS = new Set(["keys", "values", "entries"]);

// ---------------------------------------------------------------------------------------------
// Scope model: just enough to resolve a name to its declaration.

type BindingKind = "var" | "let" | "const" | "function" | "class" | "param" | "catch" | "self";

interface Binding {
  name: string;
  kind: BindingKind;
  /** The declaring node: a FunctionDeclaration for "function". */
  decl: Node;
  scope: Scope;
}

interface Scope {
  kind: "program" | "function" | "block" | "loop" | "catch" | "class";
  parent: Scope | null;
  bindings: Map<string, Binding>;
  /** The function-like node whose later call runs this scope's code (null: runs at load time). */
  deferred: Node | null;
}

interface Ctx {
  scope: Scope;
  /** Nearest enclosing function of any kind (arrow included); null at top level. */
  fn: Node | null;
  /** Nearest enclosing function that is not run on the spot (an IIFE does not count). */
  deferred: Node | null;
  cls: ClassInfo | null;
}

interface ClassInfo {
  node: Class;
  names: string[];
  superName: string | null;
  statics: Set<string>;
}

type Fn = FunctionDeclaration | AnonymousFunctionDeclaration | FunctionExpression | ArrowFunctionExpression;
type ClassNode = ClassDeclaration | AnonymousClassDeclaration | ClassExpression;

/** Own-property lookup, so that names like "toString" do not find Object.prototype's. */
function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function isNode(v: unknown): v is AnyNode {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "loc") continue;
    if (Array.isArray(value)) {
      for (const v of value) if (isNode(v)) out.push(v);
    } else if (isNode(value)) {
      out.push(value);
    }
  }
  return out;
}

function patternIds(p: Pattern, out: Identifier[]): void {
  switch (p.type) {
    case "Identifier":
      out.push(p);
      return;
    case "ObjectPattern":
      for (const prop of p.properties) patternIds(prop.type === "RestElement" ? prop : prop.value, out);
      return;
    case "ArrayPattern":
      for (const e of p.elements) if (e) patternIds(e, out);
      return;
    case "RestElement":
      patternIds(p.argument, out);
      return;
    case "AssignmentPattern":
      patternIds(p.left, out);
      return;
    default:
      return;
  }
}

/** `var` declarations anywhere below `node`, not crossing into nested functions. */
function collectVars(node: AnyNode, out: Identifier[]): void {
  if (
    node.type === "FunctionDeclaration" ||
    node.type === "FunctionExpression" ||
    node.type === "ArrowFunctionExpression" ||
    node.type === "StaticBlock"
  ) {
    return;
  }
  if (node.type === "VariableDeclaration" && node.kind === "var") {
    for (const d of node.declarations) patternIds(d.id, out);
  }
  for (const c of children(node)) collectVars(c, out);
}

/** The property name of `a.b` or `a["b"]`, or null when computed from an expression. */
function propName(m: MemberExpression): string | null {
  if (!m.computed && m.property.type === "Identifier") return m.property.name;
  if (m.computed && m.property.type === "Literal" && typeof m.property.value === "string") {
    return m.property.value;
  }
  return null;
}

function keyName(key: Expression, computed: boolean): string | null {
  if (!computed && key.type === "Identifier") return key.name;
  if (key.type === "Literal" && (typeof key.value === "string" || typeof key.value === "number")) {
    return String(key.value);
  }
  return null;
}

function isFunction(n: AnyNode): n is Fn {
  return (
    n.type === "FunctionDeclaration" ||
    n.type === "FunctionExpression" ||
    n.type === "ArrowFunctionExpression"
  );
}

function stringArg(n: AnyNode | undefined): string | null {
  if (!n) return null;
  if (n.type === "Literal" && typeof n.value === "string") return n.value;
  if (n.type === "TemplateLiteral" && n.expressions.length === 0) return n.quasis[0]?.value.cooked ?? null;
  return null;
}

/** True when the regexp source has an unescaped `/` inside a `[...]` class. */
function hasSlashInClass(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      i++;
    } else if (inClass) {
      if (ch === "]") inClass = false;
      else if (ch === "/") return true;
    } else if (ch === "[") {
      inClass = true;
    }
  }
  return false;
}

const TWO_POW_63 = 2 ** 63;

// ---------------------------------------------------------------------------------------------
// The walker.

class Gate {
  readonly violations: GateViolation[] = [];
  private readonly seen = new Set<string>();
  private readonly classes: ClassInfo[] = [];
  private readonly classAlias = new Map<Node, string>();
  private readonly superAccesses: { node: Node; cls: ClassInfo | null }[] = [];
  private readonly staticAssigns = new Map<string, Set<string>>();
  private readonly staticReads: { node: Node; obj: string; prop: string }[] = [];
  private readonly writeTargets = new Set<Node>();
  private readonly immediate = new Set<Node>();
  private readonly allowed: ReadonlySet<string>;

  constructor(
    private readonly file: string,
    allowedModules: readonly string[],
  ) {
    this.allowed = new Set(allowedModules);
  }

  add(node: Node, construct: string, message: string): void {
    const key = `${construct}@${node.start}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const pos = node.loc?.start;
    this.violations.push({
      file: this.file,
      line: pos ? pos.line : 0,
      column: pos ? pos.column + 1 : 0,
      construct,
      message,
    });
  }

  // -- scopes ---------------------------------------------------------------------------------

  private newScope(kind: Scope["kind"], parent: Scope | null, deferred: Node | null): Scope {
    return { kind, parent, bindings: new Map(), deferred };
  }

  private declare(scope: Scope, id: Identifier, kind: BindingKind, decl: Node, override: boolean): void {
    if (!override && scope.bindings.has(id.name)) return;
    scope.bindings.set(id.name, { name: id.name, kind, decl, scope });
  }

  /** let/const/class (and function declarations) directly in a statement list. */
  private declareLexical(scope: Scope, stmts: readonly AnyNode[]): void {
    for (const s of stmts) {
      if (s.type === "VariableDeclaration" && s.kind !== "var") {
        const ids: Identifier[] = [];
        for (const d of s.declarations) patternIds(d.id, ids);
        for (const id of ids) this.declare(scope, id, s.kind === "let" ? "let" : "const", s, true);
      } else if (s.type === "ClassDeclaration" && s.id) {
        this.declare(scope, s.id, "class", s, true);
      } else if (s.type === "FunctionDeclaration" && s.id) {
        this.declare(scope, s.id, "function", s, true);
      }
    }
  }

  private resolve(name: string, scope: Scope | null): Binding | null {
    for (let s = scope; s; s = s.parent) {
      const b = s.bindings.get(name);
      if (b) return b;
    }
    return null;
  }

  private isGlobal(n: AnyNode, name: string, ctx: Ctx): boolean {
    return n.type === "Identifier" && n.name === name && this.resolve(name, ctx.scope) === null;
  }

  // -- entry ----------------------------------------------------------------------------------

  program(body: readonly AnyNode[]): void {
    const scope = this.newScope("program", null, null);
    const vars: Identifier[] = [];
    for (const s of body) collectVars(s, vars);
    for (const id of vars) this.declare(scope, id, "var", id, false);
    this.declareLexical(scope, body);
    const ctx: Ctx = { scope, fn: null, deferred: null, cls: null };
    for (const s of body) this.visit(s, ctx);
    this.finish();
  }

  private visitAll(nodes: readonly AnyNode[], ctx: Ctx): void {
    for (const n of nodes) this.visit(n, ctx);
  }

  private visitChildren(node: AnyNode, ctx: Ctx): void {
    for (const c of children(node)) this.visit(c, ctx);
  }

  private visitBlock(stmts: readonly Statement[], ctx: Ctx): void {
    const scope = this.newScope("block", ctx.scope, ctx.deferred);
    this.declareLexical(scope, stmts);
    this.visitAll(stmts, { ...ctx, scope });
  }

  // -- the big switch -------------------------------------------------------------------------

  private visit(node: AnyNode, ctx: Ctx): void {
    switch (node.type) {
      case "Identifier":
        this.reference(node, ctx);
        return;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        this.visitFunction(node, ctx);
        return;
      case "ClassDeclaration":
      case "ClassExpression":
        this.visitClass(node, ctx);
        return;
      case "BlockStatement":
        this.visitBlock(node.body, ctx);
        return;
      case "StaticBlock":
        this.add(
          node,
          "static-block",
          "class static blocks are not Espruino syntax: run the code after the class",
        );
        this.visitBlock(node.body, { ...ctx, fn: null });
        return;
      case "SwitchStatement": {
        this.visit(node.discriminant, ctx);
        const scope = this.newScope("block", ctx.scope, ctx.deferred);
        const stmts: Statement[] = [];
        for (const c of node.cases) stmts.push(...c.consequent);
        this.declareLexical(scope, stmts);
        this.visitAll(node.cases, { ...ctx, scope });
        return;
      }
      case "ForStatement": {
        const loopCtx = this.loopContext(node.init, ctx);
        if (node.init) this.visit(node.init, loopCtx);
        if (node.test) this.visit(node.test, loopCtx);
        if (node.update) this.visit(node.update, loopCtx);
        this.visit(node.body, loopCtx);
        return;
      }
      case "ForInStatement":
      case "ForOfStatement": {
        if (node.type === "ForOfStatement" && node.await) {
          this.add(
            node,
            "async",
            "`for await` is not supported by Espruino: iterate with Promise .then chains",
          );
        }
        this.visit(node.right, ctx);
        const loopCtx = this.loopContext(node.left, ctx);
        if (node.left.type === "VariableDeclaration") this.visit(node.left, loopCtx);
        else this.visitPattern(node.left, loopCtx, "assign", false);
        this.visit(node.body, loopCtx);
        return;
      }
      case "CatchClause": {
        const scope = this.newScope("catch", ctx.scope, ctx.deferred);
        const inner = { ...ctx, scope };
        if (node.param) {
          const ids: Identifier[] = [];
          patternIds(node.param, ids);
          for (const id of ids) this.declare(scope, id, "catch", node, true);
          this.visitPattern(node.param, inner, "bind", false);
        }
        this.visit(node.body, inner);
        return;
      }
      case "VariableDeclaration":
        if (node.kind !== "var" && node.kind !== "let" && node.kind !== "const") {
          this.add(
            node,
            "syntax",
            `\`${node.kind}\` declarations are not Espruino syntax: use const and try/finally`,
          );
        }
        this.visitAll(node.declarations, ctx);
        return;
      case "VariableDeclarator":
        if (node.init && node.init.type === "ClassExpression" && node.id.type === "Identifier") {
          this.classAlias.set(node.init, node.id.name);
        }
        this.visitPattern(node.id, ctx, "bind", false);
        if (node.init) this.visit(node.init, ctx);
        return;
      case "AssignmentExpression":
        this.visitAssignment(node.operator, node.left, node.right, node, ctx);
        return;
      case "UpdateExpression":
        if (node.argument.type === "MemberExpression") {
          this.writeTargets.add(node.argument);
          if (propName(node.argument) === "length") this.lengthSet(node);
        }
        this.visit(node.argument, ctx);
        return;
      case "MemberExpression":
        this.visitMember(node, ctx);
        return;
      case "ChainExpression":
        this.add(
          node,
          "optional-chaining",
          "`?.` is a SyntaxError in Espruino: test for null/undefined explicitly (o != null ? o.x : undefined)",
        );
        this.visit(node.expression, ctx);
        return;
      case "CallExpression":
      case "NewExpression":
        this.visitCall(node, ctx);
        return;
      case "SpreadElement":
        this.add(
          node,
          "spread",
          "spread `...` is a SyntaxError in Espruino: pass arguments explicitly or use fn.apply, concat or " +
            "Object.assign (tsc emits super(...arguments) for a subclass without an explicit constructor: add one)",
        );
        this.visit(node.argument, ctx);
        return;
      case "ArrayExpression":
        if (node.elements.some((e) => e === null)) {
          this.add(node, "array-hole", "array holes ([1,,2]) throw in Espruino: write undefined explicitly");
        }
        this.visitChildren(node, ctx);
        return;
      case "Property":
        if (node.computed) {
          this.add(
            node,
            "computed-key",
            "computed keys ({[k]: v}) are a SyntaxError in Espruino: create the object, then assign o[k] = v",
          );
          this.visit(node.key, ctx);
        }
        this.visit(node.value, ctx);
        return;
      case "TaggedTemplateExpression":
        this.add(
          node,
          "tagged-template",
          "tagged templates (String.raw included) are not supported by Espruino: call a function with " +
            "ordinary arguments, or escape backslashes in a normal string",
        );
        this.visitChildren(node, ctx);
        return;
      case "BinaryExpression":
        if (node.operator === "**") {
          this.add(
            node,
            "exponent",
            "`**` is a SyntaxError in Espruino: multiply, or write the constant as a literal",
          );
        } else if (node.operator === "instanceof" && this.isGlobal(node.right, "Error", ctx)) {
          this.add(
            node,
            "instanceof-error",
            "`new TypeError() instanceof Error` is false in Espruino: test the specific constructors, " +
              "or typeof e.message === 'string'",
          );
        }
        this.visitChildren(node, ctx);
        return;
      case "Literal":
        this.visitLiteral(node);
        return;
      case "LabeledStatement":
        this.add(
          node,
          "label",
          "labelled statements are not supported by Espruino: use a flag variable, or move the loops into a " +
            "function and return",
        );
        this.visit(node.body, ctx);
        return;
      case "BreakStatement":
      case "ContinueStatement":
        return;
      case "MetaProperty":
        this.add(node, "meta-property", "new.target / import.meta are not Espruino syntax");
        return;
      case "ImportExpression":
        this.add(
          node,
          "syntax",
          "dynamic import() is not supported by Espruino: join the modules into one file",
        );
        this.visitChildren(node, ctx);
        return;
      case "PrivateIdentifier":
        this.add(
          node,
          "private-member",
          "#private names are not Espruino syntax: use a normal (or _prefixed) name",
        );
        return;
      default:
        this.visitChildren(node, ctx);
    }
  }

  // -- names ----------------------------------------------------------------------------------

  private reference(id: Identifier, ctx: Ctx): void {
    const b = this.resolve(id.name, ctx.scope);
    if (!b) {
      const hint = lookup(MISSING_GLOBALS, id.name);
      if (hint !== undefined) {
        this.add(id, "missing-global", `${id.name} is not defined in Espruino: ${hint}`);
      } else if (id.name === "arguments" && ctx.fn && ctx.fn.type === "ArrowFunctionExpression") {
        this.add(
          id,
          "arrow-arguments",
          "`arguments` inside an arrow function is undefined in Espruino: use a function expression, or copy " +
            "arguments into a variable in the enclosing function",
        );
      }
      return;
    }
    if (b.scope.kind === "loop" && ctx.deferred !== b.scope.deferred) {
      this.add(
        id,
        "loop-closure",
        `a closure captures the loop variable \`${id.name}\`, which Espruino shares between iterations ` +
          "(the closure sees its last value): copy it into a const declared inside the loop body and capture that",
      );
    }
    if (b.kind === "function" && id.start < b.decl.start && ctx.deferred === b.scope.deferred) {
      this.add(
        id,
        "call-before-declaration",
        `\`${id.name}\` is used before its \`function ${id.name}\` statement, and Espruino does not hoist ` +
          "function declarations: move the declaration above its first use",
      );
    }
  }

  private loopContext(head: AnyNode | null | undefined, ctx: Ctx): Ctx {
    if (head?.type !== "VariableDeclaration" || head.kind === "var") return ctx;
    const scope = this.newScope("loop", ctx.scope, ctx.deferred);
    this.declareLexical(scope, [head]);
    return { ...ctx, scope };
  }

  /** Binding or assignment pattern; only the outermost destructuring/rest/default is reported. */
  private visitPattern(p: Pattern, ctx: Ctx, mode: "bind" | "assign", inside: boolean): void {
    switch (p.type) {
      case "Identifier":
        if (mode === "assign") this.reference(p, ctx);
        return;
      case "MemberExpression":
        this.writeTargets.add(p);
        this.visit(p, ctx);
        return;
      case "ObjectPattern":
      case "ArrayPattern":
        if (!inside) {
          this.add(
            p,
            "destructuring",
            "destructuring is not supported by Espruino (SyntaxError, or the names stay undefined): read " +
              "each field into its own variable (const a = o.a)",
          );
        }
        if (p.type === "ArrayPattern") {
          for (const e of p.elements) if (e) this.visitPattern(e, ctx, mode, true);
        } else {
          for (const prop of p.properties) {
            if (prop.type === "RestElement") {
              this.visitPattern(prop, ctx, mode, true);
            } else {
              if (prop.computed) this.visit(prop.key, ctx);
              this.visitPattern(prop.value, ctx, mode, true);
            }
          }
        }
        return;
      case "RestElement":
        if (!inside) {
          this.add(p, "spread", "rest parameters (...args) are a SyntaxError in Espruino: read `arguments`");
        }
        this.visitPattern(p.argument, ctx, mode, inside);
        return;
      case "AssignmentPattern":
        if (!inside) {
          this.add(
            p,
            "default-param",
            "default parameters are a SyntaxError in Espruino: drop the default and write " +
              "`if (x === undefined) x = ...` in the body",
          );
        }
        this.visitPattern(p.left, ctx, mode, inside);
        this.visit(p.right, ctx);
        return;
      default:
        return;
    }
  }

  // -- functions and classes ------------------------------------------------------------------

  private visitFunction(fn: Fn, ctx: Ctx): void {
    if (fn.async) {
      this.add(
        fn,
        "async",
        "async functions and await are not supported by Espruino: use Promise .then chains",
      );
    }
    if (fn.generator) {
      this.add(
        fn,
        "generator",
        "generators are not supported by Espruino: write a loop or an explicit iterator",
      );
    }
    const deferred = this.immediate.has(fn) ? ctx.deferred : fn;
    const scope = this.newScope("function", ctx.scope, deferred);
    if (fn.type === "FunctionExpression" && fn.id) this.declare(scope, fn.id, "self", fn, true);
    const params: Identifier[] = [];
    for (const p of fn.params) patternIds(p, params);
    for (const id of params) this.declare(scope, id, "param", fn, true);
    const inner: Ctx = { scope, fn, deferred, cls: ctx.cls };
    if (fn.body.type === "BlockStatement") {
      const vars: Identifier[] = [];
      for (const s of fn.body.body) collectVars(s, vars);
      for (const id of vars) this.declare(scope, id, "var", id, false);
      this.declareLexical(scope, fn.body.body);
    }
    for (const p of fn.params) this.visitPattern(p, inner, "bind", false);
    if (fn.body.type === "BlockStatement") this.visitAll(fn.body.body, inner);
    else this.visit(fn.body, inner);
  }

  private visitClass(c: ClassNode, ctx: Ctx): void {
    const names: string[] = [];
    if (c.id) names.push(c.id.name);
    const alias = this.classAlias.get(c);
    if (alias !== undefined && !names.includes(alias)) names.push(alias);
    const superName = c.superClass && c.superClass.type === "Identifier" ? c.superClass.name : null;
    const info: ClassInfo = { node: c, names, superName, statics: new Set() };
    this.classes.push(info);
    if (c.superClass) {
      if (
        superName !== null &&
        ERROR_CONSTRUCTORS.has(superName) &&
        this.resolve(superName, ctx.scope) === null
      ) {
        this.add(
          c.superClass,
          "extends-error",
          `extending ${superName} is broken in Espruino (instanceof, message and name are lost): throw a ` +
            "plain Error and carry a code in a property, or return an error value",
        );
      }
      this.visit(c.superClass, ctx);
    }
    const scope = this.newScope("class", ctx.scope, ctx.deferred);
    if (c.id) this.declare(scope, c.id, "self", c, true);
    const inner: Ctx = { ...ctx, scope, cls: info };
    for (const el of c.body.body) {
      if (el.type === "StaticBlock") {
        this.visit(el, inner);
        continue;
      }
      if (el.computed) {
        this.add(
          el,
          "computed-key",
          "computed class member names are a SyntaxError in Espruino: assign C.prototype[k] after the class",
        );
        this.visit(el.key, inner);
      } else if (el.key.type === "PrivateIdentifier") {
        this.visit(el.key, inner);
      }
      const name = el.key.type === "PrivateIdentifier" ? null : keyName(el.key, el.computed);
      if (el.static && name !== null) info.statics.add(name);
      if (el.type === "MethodDefinition") {
        this.visitFunction(el.value, inner);
      } else if (el.value) {
        this.visit(el.value, el.static ? inner : { ...inner, deferred: el });
      }
    }
  }

  // -- expressions ----------------------------------------------------------------------------

  private visitAssignment(op: string, left: Pattern, right: Expression, node: Node, ctx: Ctx): void {
    if (op === "**=") {
      this.add(node, "exponent", "`**=` is a SyntaxError in Espruino: multiply explicitly");
    } else if (op === "&&=" || op === "||=" || op === "??=") {
      this.add(
        node,
        "logical-assign",
        `\`${op}\` is a SyntaxError in Espruino: write if (a == null) a = v; or a = a || v`,
      );
    }
    if (left.type === "MemberExpression") {
      const prop = propName(left);
      if (prop === "length") this.lengthSet(node);
      if (prop !== null && left.object.type === "Identifier") {
        let set = this.staticAssigns.get(left.object.name);
        if (!set) {
          set = new Set();
          this.staticAssigns.set(left.object.name, set);
        }
        set.add(prop);
      }
    }
    if (right.type === "ClassExpression" && left.type === "Identifier") this.classAlias.set(right, left.name);
    this.visitPattern(left, ctx, "assign", false);
    this.visit(right, ctx);
  }

  private lengthSet(node: Node): void {
    this.add(
      node,
      "array-length-set",
      "setting .length throws on Espruino arrays: truncate with splice(n), or build a new array",
    );
  }

  private visitMember(m: MemberExpression, ctx: Ctx): void {
    const obj = m.object;
    const prop = propName(m);
    const write = this.writeTargets.has(m);
    if (obj.type === "Super") {
      this.superAccesses.push({ node: m, cls: ctx.cls });
    } else if (obj.type === "Identifier" && prop !== null) {
      const global = this.resolve(obj.name, ctx.scope) === null;
      if (global) this.globalMember(m, obj.name, prop);
      if (!write) this.staticReads.push({ node: m, obj: obj.name, prop });
    }
    if (prop !== null && !write) {
      const hint = lookup(MISSING_MEMBERS, prop);
      if (hint !== undefined) this.add(m.property, "missing-member", `.${prop} ${hint}`);
    }
    this.visit(obj, ctx);
    if (m.computed) this.visit(m.property, ctx);
  }

  private globalMember(m: MemberExpression, obj: string, prop: string): void {
    if (prop === "prototype" && (obj === "Array" || obj === "String" || obj === "Function")) {
      this.add(
        m,
        "prototype-read",
        `${obj}.prototype is undefined in Espruino: call the method on an instance (e.g. [].slice.call(x))`,
      );
    } else if (prop === "prototype" && ERROR_CONSTRUCTORS.has(obj)) {
      this.add(
        m,
        "extends-error",
        `subclassing ${obj} through ${obj}.prototype is broken in Espruino (String(e) gives [object Object]): ` +
          "throw a plain Error and carry a code in a property",
      );
    } else if (obj === "Number") {
      this.add(
        m,
        "number-static",
        `Number.${prop} is undefined in Espruino: use the globals isFinite/isNaN/parseInt/parseFloat, ` +
          "Math.floor(x) === x for integers, or literal constants (9007199254740991)",
      );
    } else {
      const statics = lookup(MISSING_STATICS, obj);
      const hint = statics === undefined ? undefined : lookup(statics, prop);
      if (hint !== undefined) this.add(m, "missing-member", `${obj}.${prop} is missing in Espruino: ${hint}`);
    }
  }

  private visitCall(node: CallExpression | NewExpression, ctx: Ctx): void {
    const callee = node.callee;
    const args = node.arguments;
    if (isFunction(callee)) this.immediate.add(callee);
    if (callee.type === "MemberExpression") {
      const prop = propName(callee);
      const obj = callee.object;
      if ((prop === "call" || prop === "apply") && isFunction(obj)) this.immediate.add(obj);
      if (prop !== null && node.type === "CallExpression") {
        const hint = lookup(MISSING_CALLED, prop);
        if (hint !== undefined) this.add(callee.property, "missing-member", `.${prop}() ${hint}`);
        if (MISSING_ITERATORS.has(prop) && args.length === 0) {
          this.add(
            callee.property,
            "missing-member",
            `.${prop}() (array iterators) is missing in Espruino: loop over indices, or use Object.${prop}(o)`,
          );
        }
        if (obj.type !== "Super" && this.isGlobal(obj, "Math", ctx) && prop === "pow") this.mathPow(node);
        if (obj.type !== "Super" && this.isGlobal(obj, "JSON", ctx)) this.jsonCall(node, prop);
      }
      if (prop === "require") this.requireCall(node);
    } else if (callee.type === "Identifier" && callee.name === "require") {
      this.requireCall(node);
    }
    this.visitChildren(node, ctx);
  }

  private mathPow(node: CallExpression): void {
    const n = node.arguments[1];
    const ok =
      n !== undefined &&
      n.type === "Literal" &&
      typeof n.value === "number" &&
      Number.isInteger(n.value) &&
      n.value >= 0 &&
      n.value <= 9;
    if (!ok) {
      this.add(
        node,
        "math-pow",
        "Math.pow(x, n) is exact in Espruino only for an integer literal n from 0 to 9: write large " +
          "constants as literals (4294967296) or multiply",
      );
    }
  }

  private jsonCall(node: CallExpression, prop: string): void {
    const second = node.arguments[1];
    if (second === undefined) return;
    const nullish =
      (second.type === "Literal" && second.value === null) ||
      (second.type === "Identifier" && second.name === "undefined");
    if (prop === "parse") {
      this.add(
        node,
        "json-reviver",
        "Espruino ignores JSON.parse's reviver: transform the parsed value yourself",
      );
    } else if (prop === "stringify" && !nullish) {
      this.add(
        node,
        "json-replacer",
        "Espruino ignores JSON.stringify's replacer: build the object to serialise yourself",
      );
    }
  }

  private requireCall(node: CallExpression | NewExpression): void {
    const name = stringArg(node.arguments[0]);
    if (name === null || this.allowed.has(name)) return;
    this.add(
      node,
      "require",
      `require("${name}") is not an Espruino built-in module: the upload tool would try to download it ` +
        "from the Internet; join the project's modules without require strings",
    );
  }

  private visitLiteral(node: Literal): void {
    if (node.bigint !== undefined) {
      this.add(node, "bigint", "BigInt literals are a SyntaxError in Espruino: use the U64 {hi, lo} helpers");
    } else if (node.regex) {
      if (hasSlashInClass(node.regex.pattern)) {
        this.add(
          node,
          "regexp-class-slash",
          "Espruino's lexer ends a regexp at a `/` inside [...]: escape it as \\/",
        );
      }
    } else if (typeof node.value === "number" && node.raw !== undefined) {
      const digits = node.raw.replace(/_/g, "");
      // Integer-form literals only (Espruino lexes those as 64-bit integers); not 1.5, 1e21 or 017.
      if (!/^(0[xob][0-9a-f]+|[1-9][0-9]*)$/i.test(digits)) return;
      if (Math.abs(node.value) >= TWO_POW_63) {
        this.add(
          node,
          "unsafe-integer",
          "integer literals of 2^63 and above wrap around in Espruino: split the value into 32-bit halves " +
            "(shared/u64.ts)",
        );
      } else if (BigInt(digits) !== BigInt(node.value)) {
        this.add(
          node,
          "unsafe-integer",
          "this integer literal is not exactly representable (above 2^53), and Espruino prints it " +
            "differently from Node: split the value into 32-bit halves (shared/u64.ts)",
        );
      }
    }
  }

  // -- whole-file rules -----------------------------------------------------------------------

  private finish(): void {
    const extended = new Set<string>();
    const byName = new Map<string, ClassInfo>();
    for (const c of this.classes) {
      if (c.superName !== null) extended.add(c.superName);
      for (const n of c.names) byName.set(n, c);
    }
    for (const s of this.superAccesses) {
      if (s.cls?.names.some((n) => extended.has(n))) {
        this.add(
          s.node,
          "super-method-in-extended-class",
          "super.m() inside a class that is itself subclassed recurses forever in Espruino: call the base " +
            "method as Base.prototype.m.call(this, ...), or give it another name",
        );
      }
    }
    const ownStatics = (c: ClassInfo): Set<string> => {
      const s = new Set(c.statics);
      for (const n of c.names) for (const p of this.staticAssigns.get(n) ?? []) s.add(p);
      return s;
    };
    for (const r of this.staticReads) {
      const cls = byName.get(r.obj);
      if (!cls || cls.superName === null || r.prop === "prototype" || ownStatics(cls).has(r.prop)) continue;
      const visited = new Set<ClassInfo>([cls]);
      for (let a = byName.get(cls.superName); a && !visited.has(a); a = byName.get(a.superName ?? "")) {
        visited.add(a);
        if (ownStatics(a).has(r.prop)) {
          this.add(
            r.node,
            "inherited-static",
            `static members are not inherited in Espruino: read ${a.names[0] ?? "the base class"}.${r.prop} ` +
              `instead of ${r.obj}.${r.prop}`,
          );
          break;
        }
      }
    }
    this.violations.sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

// ---------------------------------------------------------------------------------------------

interface AcornSyntaxError {
  message: string;
  loc?: { line: number; column: number };
}

function isAcornError(e: unknown): e is AcornSyntaxError {
  return e instanceof SyntaxError;
}

/**
 * Checks `source` (one JavaScript file, as Espruino will run it) and returns every construct
 * Espruino 2v29 rejects, lacks or runs differently, sorted by position. Empty means it passes.
 */
export function checkEspruinoSubset(source: string, file: string, options?: GateOptions): GateViolation[] {
  let program: AnyNode;
  try {
    program = parse(source, {
      ecmaVersion: "latest",
      sourceType: "script",
      locations: true,
      allowHashBang: true,
    });
  } catch (e) {
    if (!isAcornError(e)) throw e;
    let message = e.message.replace(/ \(\d+:\d+\)$/, "");
    try {
      parse(source, { ecmaVersion: "latest", sourceType: "module" });
      message = "import/export is not Espruino syntax: join the modules into one file without them";
    } catch {
      // Not module syntax either: keep the parser's message.
    }
    return [
      {
        file,
        line: e.loc?.line ?? 0,
        column: (e.loc?.column ?? 0) + 1,
        construct: "syntax",
        message,
      },
    ];
  }
  const gate = new Gate(file, options?.allowedModules ?? ESPRUINO_BUILTIN_MODULES);
  if (program.type === "Program") gate.program(program.body);
  return gate.violations;
}

function main(argv: readonly string[]): number {
  const files: string[] = [];
  const allowed: string[] = [...ESPRUINO_BUILTIN_MODULES];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--allow-module") {
      allowed.push(argv[++i] ?? "");
    } else if (a.startsWith("--allow-module=")) {
      allowed.push(a.slice("--allow-module=".length));
    } else {
      files.push(a);
    }
  }
  if (files.length === 0) {
    process.stderr.write("usage: espruino-gate [--allow-module NAME]... FILE...\n");
    return 2;
  }
  let count = 0;
  for (const f of files) {
    for (const v of checkEspruinoSubset(readFileSync(f, "utf8"), f, { allowedModules: allowed })) {
      process.stdout.write(`${formatViolation(v)}\n`);
      count++;
    }
  }
  if (count > 0) process.stderr.write(`espruino-gate: ${count} violation(s)\n`);
  return count > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
