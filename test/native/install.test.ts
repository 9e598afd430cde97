// The install script builds the addon when it can and never fails the install when it cannot.
import { it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const nativeDir = new URL("../../native/", import.meta.url).pathname;

function copyOfSources(): string {
  const dir = mkdtempSync(join(tmpdir(), "wasyncore-native-"));
  for (const f of readdirSync(nativeDir)) if (/\.(c|h|gyp|mjs)$/.test(f)) cpSync(join(nativeDir, f), join(dir, f));
  return dir;
}

it("skips the build with WASYNCORE_NATIVE=0, warning that the net backend will be used", () => {
  const dir = copyOfSources();
  try {
    const r = spawnSync(process.execPath, [join(dir, "install.mjs")], { env: { ...process.env, WASYNCORE_NATIVE: "0" }, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/native backend was not built \(WASYNCORE_NATIVE=0\); the 'net' backend will be used/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("exits 0 with a warning when the compiler fails", () => {
  const dir = copyOfSources();
  try {
    const r = spawnSync(process.execPath, [join(dir, "install.mjs")], {
      env: { ...process.env, CC: "/bin/false", CXX: "/bin/false" }, encoding: "utf8", timeout: 120_000,
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/native backend was not built \(node-gyp exited with \d+\); the 'net' backend will be used/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 150_000);
