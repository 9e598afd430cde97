// `npm run docs` (TypeDoc) builds the API reference with no warning: every public name documented, no
// public type referring to one the reference leaves out. Runs once (vitest.config.ts: ONCE): it has no backend.
import { it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

it("builds the API reference with TypeDoc and no warnings", () => {
  const out = mkdtempSync(join(tmpdir(), "wasyncore-docs-"));
  try {
    const r = spawnSync("node", [join(root, "tools/docs/node_modules/typedoc/bin/typedoc"), "--out", out], { cwd: root, encoding: "utf8", timeout: 170_000 });
    const text = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, ""); // eslint-disable-line no-control-regex
    expect(text).not.toMatch(/\[warning\]|\[error\]/);
    expect(r.status, text).toBe(0);
    expect(existsSync(join(out, "classes", "index.Dispatcher.html"))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
