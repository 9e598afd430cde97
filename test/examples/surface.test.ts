// The public surface (what `wasyncore`, `wasyncore/chat` and `wasyncore/sandbox` export, and the kind of each)
// equals the recorded list in surface.json: moving files or splitting classes cannot change it unnoticed.
// A deliberate change of the surface updates the list: UPDATE_SURFACE=1 npx vitest run test/examples/surface.test.ts
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const RECORD = new URL("./surface.json", import.meta.url);

async function surface(): Promise<Record<string, Record<string, string>>> {
  const entries: Record<string, string> = {
    wasyncore: "../../host/index.js",
    "wasyncore/chat": "../../host/asyncore/chat.js",
    "wasyncore/sandbox": "../../host/sandbox/index.js",
    "wasyncore/tls": "../../host/tls/index.js", // tls
  };
  const out: Record<string, Record<string, string>> = {};
  for (const [name, path] of Object.entries(entries)) {
    const mod = (await import(path)) as Record<string, unknown>;
    out[name] = Object.fromEntries(Object.keys(mod).sort().map((k) => [k, kind(mod[k])]));
  }
  return out;
}

function kind(v: unknown): string {
  if (typeof v === "function") return /^class[\s{]/.test(Function.prototype.toString.call(v)) ? "class" : "function";
  return typeof v;
}

describe("the package's public surface", () => {
  it("exports exactly the recorded names, each of the recorded kind", async () => {
    const now = await surface();
    if (process.env.UPDATE_SURFACE === "1") writeFileSync(RECORD, JSON.stringify(now, null, 2) + "\n");
    const recorded = JSON.parse(readFileSync(RECORD, "utf8")) as unknown;
    expect(now).toEqual(recorded);
  });

  it("the package.json export map points at files the build makes", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      exports: Record<string, string | { types: string; default: string }>;
    };
    for (const [key, target] of Object.entries(pkg.exports)) {
      const paths = typeof target === "string" ? [target] : [target.types, target.default];
      for (const p of paths) expect(() => readFileSync(new URL(`../../${p}`, import.meta.url)), `${key} → ${p}`).not.toThrow();
    }
  });
});
