// Builds every server example in both flavours: build/servers/NAME.host.wasm (Node runner) and
// build/servers/NAME.wasix.wasm (WASIX runtimes). `node examples/assembly/build.mjs [NAME...]`.
// The compiler options are the `wasyncore build` command's own (build/host/sandbox/build.js), so
// the examples, the tests' fixtures and a consumer's build are the same build.
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { readdirSync, statSync, existsSync } from "node:fs";
import { buildServer as build } from "../../build/host/sandbox/build.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
export const EXAMPLES = ["echo", "http", "smtp", "idle-echo", "relay", "udp-echo"];
export const FLAVOURS = ["host", "wasix"];

/** Compiles one AssemblyScript server source for a flavour; throws with asc's diagnostics. */
export function buildServer(entry, flavour, outFile, extra = []) {
  return build(entry, flavour, outFile, extra);
}

/** Newest modification time among the files a server build reads. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, "assembly"));
  walk(here);
  newest = Math.max(newest, statSync(join(root, "build/host/sandbox/build.js")).mtimeMs);
  return newest;
}

/** Like buildServer, but skips the build when the output is newer than every source. */
export async function buildServerIfStale(entry, flavour, outFile) {
  if (existsSync(outFile) && statSync(outFile).mtimeMs > newestSource()) return outFile;
  return buildServer(entry, flavour, outFile);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : EXAMPLES;
  const newest = newestSource();
  for (const name of names) {
    for (const flavour of FLAVOURS) {
      const t0 = Date.now();
      const out = join(root, `build/servers/${name}.${flavour}.wasm`);
      if (existsSync(out) && statSync(out).mtimeMs > newest) continue; // up to date
      await buildServer(join(here, `${name}.ts`), flavour, out);
      console.log(`build/servers/${name}.${flavour}.wasm (${Date.now() - t0} ms)`);
    }
  }
}
