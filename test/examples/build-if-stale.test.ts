// tools/build-if-stale.mjs (npm start, npm test): after a build nothing runs again; a newer source, or a
// missing output, reruns exactly its step. Checked on a scratch tree, never on the repository's build.
import { it, expect, beforeEach, afterEach } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
// @ts-expect-error a plain .mjs tool without declarations
import { staleSteps, STEPS } from "../../tools/build-if-stale.mjs";

type Stale = { script: string; reason: string }[];
const stale = staleSteps as (root: string) => Stale;
let root = "";

function file(rel: string, ageSeconds: number): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, "");
  const t = Date.now() / 1000 - ageSeconds;
  utimesSync(p, t, t);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "wasyncore-stale-"));
  // sources, then (later) what a build made from them
  for (const f of ["assembly/index.ts", "asconfig.json", "package.json", "host/index.ts", "examples/demo.ts", "tsconfig.json"]) file(f, 100);
  for (const f of (STEPS as { outputs: string[] }[]).flatMap((s) => s.outputs)) file(f, 50);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

it("runs nothing right after a build (what npm ci's prepare leaves)", () => {
  expect(stale(root)).toEqual([]);
});

it("reruns only the step whose source changed", () => {
  file("host/socket/socket.ts", 10);
  expect(stale(root)).toEqual([{ script: "build:host", reason: `${join("host", "socket", "socket.ts")} is newer than the build` }]);
  file("assembly/chat.ts", 5);
  expect(stale(root).map((s) => s.script)).toEqual(["build:core", "build:host"]);
});

it("ignores the server examples' sources (build:servers checks its own) and reruns a step whose output is missing", () => {
  file("examples/assembly/echo.ts", 1);
  expect(stale(root)).toEqual([]);
  rmSync(join(root, "build/core.debug.wasm"));
  expect(stale(root)).toEqual([{ script: "build:core", reason: "build/core.debug.wasm is missing" }]);
});
