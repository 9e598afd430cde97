// Runs only the build steps whose outputs are missing or older than their sources, so `npm start` and
// `npm test` right after `npm ci` (whose prepare script built everything) build nothing again.
// `node tools/build-if-stale.mjs [--dry-run] [--root DIR]`; --dry-run prints the steps it would run.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Each npm script, the files it reads, and the outputs it writes (build:servers checks its own sources). */
export const STEPS = [
  { script: "build:core", inputs: ["assembly", "asconfig.json", "package.json"], outputs: ["build/core.wasm", "build/core.debug.wasm"] },
  { script: "build:host", inputs: ["host", "examples", "tsconfig.json", "package.json"], skip: ["examples/assembly"], outputs: ["build/host/index.js", "build/examples/demo.js"] },
];

/** The newest mtime (ms) and its file among `paths` (files or directories, walked) under `root`. */
function newest(root, paths, skip = []) {
  let best = { ms: 0, file: null };
  const visit = (rel) => {
    if (skip.includes(rel)) return;
    const p = join(root, rel);
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== "node_modules") visit(join(rel, name));
    } else if (st.mtimeMs > best.ms) best = { ms: st.mtimeMs, file: rel };
  };
  for (const rel of paths) visit(rel);
  return best;
}

/** The steps to run under `root`, each with the reason. */
export function staleSteps(root) {
  const out = [];
  for (const step of STEPS) {
    const missing = step.outputs.find((o) => !existsSync(join(root, o)));
    if (missing) { out.push({ script: step.script, reason: `${missing} is missing` }); continue; }
    const oldest = Math.min(...step.outputs.map((o) => statSync(join(root, o)).mtimeMs));
    const src = newest(root, step.inputs, step.skip);
    if (src.ms > oldest) out.push({ script: step.script, reason: `${src.file} is newer than the build` });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--root");
  const root = i >= 0 ? args[i + 1] : join(fileURLToPath(import.meta.url), "../..");
  const dry = args.includes("--dry-run");
  const steps = staleSteps(root);
  for (const { script, reason } of steps) {
    console.log(`build-if-stale: npm run ${script} (${reason})`);
    if (dry) continue;
    const r = spawnSync("npm", ["run", "--silent", script], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  // the server examples' builder skips what is up to date by itself
  if (!dry && existsSync(join(root, "examples/assembly/build.mjs"))) {
    const r = spawnSync("npm", ["run", "--silent", "build:servers"], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
