// Every skip in test/ states a reason this file checks (issue 20): a backend difference names its README
// row (onBackend), a machine's lack names what is missing and fails instead in CI (missing), and a skip
// CPython's test_asyncore.py has too quotes CPython's reason (asCPython). Unconditional skips are refused.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { missing } from "../support/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function testFiles(dir = "test"): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...testFiles(rel));
    else if (rel.endsWith(".ts") && rel !== "test/support/index.ts" && rel !== "test/layout/skips.test.ts") out.push(rel);
  }
  return out;
}

/** The text between the parenthesis at `open` and its match. */
function argument(src: string, open: number): string {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === "(") depth++;
    else if (src[i] === ")" && --depth === 0) return src.slice(open + 1, i);
  }
  return src.slice(open + 1);
}

type Site = { where: string; call: string; condition: string };

/** Every skip in `src`: `.skipIf(…)`, `.runIf(…)`, `it/describe/test.skip(`, `.todo(`, `ctx.skip(`. */
function skips(file: string, src: string): Site[] {
  const out: Site[] = [];
  const line = (i: number) => `${file}:${src.slice(0, i).split("\n").length}`;
  for (const m of src.matchAll(/\.(skipIf|runIf)\(/g)) {
    out.push({ where: line(m.index), call: m[1], condition: argument(src, m.index + m[0].length - 1) });
  }
  for (const m of src.matchAll(/\b(?:it|test|describe|suite)\.(skip|todo)\(|\b(?:ctx|context|t)\.(skip)\(/g)) {
    out.push({ where: line(m.index), call: m[1] ?? m[2], condition: "" });
  }
  return out;
}

/** What is wrong with a skip site, or null. */
function problem(site: Site): string | null {
  if (site.call !== "skipIf" && site.call !== "runIf") return `${site.where}: an unconditional .${site.call}(): skip with skipIf(onBackend/missing/asCPython(…)) or delete it`;
  if (site.call === "runIf") return `${site.where}: runIf(): write skipIf(onBackend(…)/missing(…)/asCPython(…)) so the reason is checked`;
  if (!/\b(onBackend|missing|asCPython)\(/.test(site.condition)) return `${site.where}: skipIf(${site.condition}) states no reason: use onBackend(backend, README row), missing(what, …) or asCPython(…, CPython's reason) from test/support`;
  return null;
}

/** The first cells of README.md's table rows. */
function readmeRows(): Set<string> {
  const rows = new Set<string>();
  for (const l of readFileSync(join(ROOT, "README.md"), "utf8").split("\n")) {
    const m = /^\|\s*([^|]+?)\s*\|/.exec(l);
    if (m && !/^-+$/.test(m[1])) rows.add(m[1]);
  }
  return rows;
}

const sources = testFiles().map((f) => ({ file: f, src: readFileSync(join(ROOT, f), "utf8") }));
const sites = sources.flatMap(({ file, src }) => skips(file, src));

describe("skips in test/", () => {
  it("finds the skips it checks (the scanner is not blind)", () => {
    const probe = skips("x.ts", 'it.skip("a", f);\ndescribe.skipIf(x)("b", f);\nit.runIf(y)("c", f);\nit.skipIf(missing("z", !z))("d", f);').map(problem);
    expect(probe).toHaveLength(4);
    expect(probe[0]).toMatch(/^x\.ts:2: skipIf\(x\) states no reason/);
    expect(probe[1]).toMatch(/^x\.ts:3: runIf\(\)/);
    expect(probe[2]).toBeNull();
    expect(probe[3]).toMatch(/^x\.ts:1: an unconditional \.skip\(\)/);
    expect(sites.filter((s) => s.condition.includes("onBackend(")).length).toBeGreaterThanOrEqual(8);
    expect(sites.filter((s) => s.condition.includes("missing(")).length).toBeGreaterThanOrEqual(10);
    expect(sites.filter((s) => s.condition.includes("asCPython(")).length).toBeGreaterThanOrEqual(3);
  });

  it("each state a checked reason", () => {
    expect(sites.map(problem).filter((p) => p !== null)).toEqual([]);
  });

  it("name a README row that exists for each backend difference", () => {
    const rows = readmeRows();
    const named = sources.flatMap(({ file, src }) =>
      [...src.matchAll(/onBackend\(\s*"(net|net-public|native)",\s*"([^"]+)"\s*\)/g)].map((m) => ({ file, row: m[2] })));
    expect(named.length).toBeGreaterThanOrEqual(8);
    expect(named.filter(({ row }) => !rows.has(row)).map(({ file, row }) => `${relative(ROOT, join(ROOT, file))}: no README row "${row}"`)).toEqual([]);
    // every onBackend() call has literal arguments, so the check above saw them all
    const calls = sources.reduce((n, { src }) => n + [...src.matchAll(/onBackend\(/g)].length, 0);
    expect(named.length).toBe(calls);
  });

  const testAsyncore = (() => {
    try {
      return execFileSync("python3", ["-c", "import test.test_asyncore as t; print(t.__file__)"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch { return ""; }
  })();

  it.skipIf(missing("python3 with CPython's test_asyncore.py", !existsSync(testAsyncore)))("quote CPython's own skip reason for the skips CPython has", () => {
    const cpython = readFileSync(testAsyncore, "utf8");
    const quoted = sources.flatMap(({ file, src }) =>
      [...src.matchAll(/asCPython\([^,]+,\s*"([^"]+)"\s*\)/g)].map((m) => ({ file, reason: m[1] })));
    expect(quoted.length).toBeGreaterThanOrEqual(3);
    expect(quoted.filter(({ reason }) => !cpython.includes(`"${reason}"`)).map(({ file, reason }) => `${file}: "${reason}"`)).toEqual([]);
  });
});
