// Builds the native backend (native/*.c → native/build/Release/wasyncore.node) with node-gyp,
// from this package's own sources against the running Node's headers. Never fails the install:
// on another OS, without a compiler or headers, it prints a warning and the `net` backend is used.
// WASYNCORE_NATIVE=0 skips the build. `node native/install.mjs --verbose` shows node-gyp's output.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const verbose = process.argv.includes("--verbose");
const addon = join(here, "build", "Release", "wasyncore.node");

function warn(why, detail = "") {
  console.warn(`wasyncore: the native backend was not built (${why}); the 'net' backend will be used.`);
  try { // the host reports this (loopStats().backendReason, NODE_DEBUG=wasyncore)
    mkdirSync(join(here, "build"), { recursive: true });
    writeFileSync(join(here, "build", "FAILED.txt"), `${why}\n${detail}`);
  } catch { /* read-only: the host then says only that the addon is missing */ }
  process.exit(0);
}

/** node-gyp as npm runs it in lifecycle scripts, else the copy bundled with npm, else PATH. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return [process.execPath, c];
  return ["node-gyp"];
}

/** The running Node's own headers, when npm was not told where they are (no downloads). */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

if (process.env.WASYNCORE_NATIVE === "0") warn("WASYNCORE_NATIVE=0");
if (process.platform !== "linux") warn(`it is Linux-only, this is ${process.platform}`);

const [cmd, ...pre] = nodeGyp();
const args = [...pre, "rebuild", "-C", here, ...nodedirArgs(), ...(verbose ? [] : ["--loglevel=error"])];
const run = spawnSync(cmd, args, { stdio: verbose ? "inherit" : "pipe", encoding: "utf8", timeout: 300_000 });
if (run.error || run.status !== 0) {
  const out = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
  if (out) console.warn(out);
  warn(run.error ? run.error.message : `node-gyp exited with ${run.status ?? run.signal}`, out);
}
try {
  createRequire(import.meta.url)(addon);
} catch (err) {
  warn(`it built but does not load: ${err instanceof Error ? err.message : String(err)}`);
}
if (verbose) console.log(`wasyncore: native backend built: ${addon}`);
