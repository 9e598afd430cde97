// When the install did not build the addon, the package says why (issue 14, "The package"):
// native/install.mjs records the reason in native/build/FAILED.txt, and the host reports it in
// loopStats().backendReason and, under NODE_DEBUG=wasyncore, at the first socket. Runs on a copy of
// the built package in a temp directory (its own native/, no addon), so the real build is untouched.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missing } from "../support/index.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const built = existsSync(join(repo, "build/host/index.js")) && existsSync(join(repo, "build/core.wasm"));
let pkg = "";

function run(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    const c = spawn(process.execPath, args, { cwd: pkg, env: e as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let out = "", err = "";
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (err += d));
    c.on("exit", (code) => resolve({ code, out, err }));
  });
}

// Creates a socket with the default backend; prints loopStats()'s fields and the socket's class.
const probe = () => `
const { AF_INET, Dispatcher, ChannelMap, closeAll, loopStats } = await import(${JSON.stringify(join(pkg, "build/host/index.js"))});
const map = new ChannelMap();
const d = new Dispatcher(null, map);
let socket;
try { d.createSocket(AF_INET); socket = d.socket.constructor.name; } catch (e) { socket = "throws: " + e.message; }
const { backend, backendReason } = loopStats({ map });
console.log(JSON.stringify({ backend, backendReason, socket }));
closeAll({ map });
`;

describe.skipIf(missing("the built host (build/host)", !built))("a package whose addon was not built", () => {
  beforeAll(() => {
    pkg = mkdtempSync(join(tmpdir(), "wasyncore-noaddon-"));
    cpSync(join(repo, "package.json"), join(pkg, "package.json"));
    cpSync(join(repo, "build/host"), join(pkg, "build/host"), { recursive: true });
    cpSync(join(repo, "build/core.wasm"), join(pkg, "build/core.wasm"));
    cpSync(join(repo, "native/install.mjs"), join(pkg, "native/install.mjs"));
    symlinkSync(join(repo, "node_modules"), join(pkg, "node_modules"));
  });
  afterAll(() => { if (pkg) rmSync(pkg, { recursive: true, force: true }); });

  it("without a record: the addon is missing, and the default falls back to net", async () => {
    rmSync(join(pkg, "native/build"), { recursive: true, force: true });
    const r = await run(["--input-type=module", "-e", probe()], { WASYNCORE_BACKEND: undefined, NODE_DEBUG: "wasyncore" });
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out);
    expect(got).toMatchObject({ backend: "net", socket: "Socket" });
    expect(got.backendReason).toMatch(/^the addon is not built \(native\/build\/Release\/wasyncore\.node is missing/);
    expect(r.err).toMatch(/^WASYNCORE \d+: native addon not loaded: the addon is not built/m);
    expect(r.err).toMatch(/^WASYNCORE \d+: sockets use the net backend \(native is not in use: the addon is not built/m);
  });

  it("WASYNCORE_NATIVE=0 at install: the reason is recorded and reported", async () => {
    rmSync(join(pkg, "native/build"), { recursive: true, force: true });
    const install = await run(["native/install.mjs"], { WASYNCORE_NATIVE: "0" });
    expect(install.code).toBe(0); // an install never fails for the addon
    expect(install.err).toContain("the native backend was not built (WASYNCORE_NATIVE=0)");
    expect(readFileSync(join(pkg, "native/build/FAILED.txt"), "utf8")).toMatch(/^WASYNCORE_NATIVE=0\n/);
    const r = await run(["--input-type=module", "-e", probe()], { WASYNCORE_BACKEND: undefined, NODE_DEBUG: "wasyncore" });
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out);
    expect(got).toMatchObject({ backend: "net", socket: "Socket" });
    expect(got.backendReason).toMatch(/^the addon was not built at install: WASYNCORE_NATIVE=0 \(native\/build\/FAILED\.txt/);
    expect(r.err).toMatch(/^WASYNCORE \d+: sockets use the net backend \(native is not in use: the addon was not built at install: WASYNCORE_NATIVE=0/m);
  });

  it("a failed compile: node-gyp's last lines are recorded, its exit reported", async () => {
    rmSync(join(pkg, "native/build"), { recursive: true, force: true });
    const gyp = join(pkg, "fake-node-gyp.js"); // stands in for node-gyp: fails as a missing compiler does
    writeFileSync(gyp, "console.error('gyp ERR! stack Error: not found: make'); process.exit(1);\n");
    const install = await run(["native/install.mjs"], { npm_config_node_gyp: gyp, WASYNCORE_NATIVE: undefined });
    expect(install.code).toBe(0);
    expect(readFileSync(join(pkg, "native/build/FAILED.txt"), "utf8")).toBe("node-gyp exited with 1\ngyp ERR! stack Error: not found: make");
    const r = await run(["--input-type=module", "-e", probe()], { WASYNCORE_BACKEND: undefined, NODE_DEBUG: "wasyncore" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).backendReason).toMatch(/^the addon was not built at install: node-gyp exited with 1 \(/);
    expect(r.err).toContain("gyp ERR! stack Error: not found: make"); // the details, in the debug output
  });

  it("WASYNCORE_BACKEND=native where it cannot be had: sockets throw why, loopStats() says it", async () => {
    const r = await run(["--input-type=module", "-e", probe()], { WASYNCORE_BACKEND: "native", NODE_DEBUG: undefined });
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out);
    expect(got.socket).toMatch(/^throws: WASYNCORE_BACKEND: the native backend is not available here: the addon was not built at install/);
    expect(got).toMatchObject({ backend: "net" });
    expect(got.backendReason).toBe(got.socket.slice("throws: ".length));
  });
});
