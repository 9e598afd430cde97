// `wasyncore build SRC.ts -o OUT.wasm --target host|wasix`: compiles an AssemblyScript server with
// the package's own compiler (assemblyscript, a runtime dependency for this), its WASI shim and
// the server library (assembly/server, shipped in the package), so it works from node_modules alone.
import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join, relative, resolve } from "node:path";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { UsageError } from "./config.js";

const USAGE = `usage: wasyncore build SRC.ts -o OUT.wasm [--target host|wasix] [--debug]

Compiles an AssemblyScript server (import { Dispatcher, serve } from "wasyncore/assembly/server")
into a module: --target host (default) for \`wasyncore run\`, --target wasix for WASIX runtimes.

options:
  -o, --out FILE       the output .wasm (required)
  --target host|wasix  which flavour (default host)
  --debug              keep assertions and names, no optimisation
  -h, --help           this text`;

/** The package root (where assembly/ and package.json are), from this file in build/host/sandbox/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "assembly/server/index.ts"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("wasyncore build: cannot find the package's assembly/server library");
    dir = up;
  }
  return dir;
}

/**
 * The AssemblyScript options of a server build: one list for the CLI, the examples and the tests.
 * `abi` picks the host flavour's socket namespace (3: wasyncore_sock_v3; 1: v1, without datagrams).
 */
export function serverBuildOptions(target: "host" | "wasix", debug = false, abi: 1 | 3 = 3): string[] {
  const require = createRequire(import.meta.url);
  const shim = join(dirname(require.resolve("@assemblyscript/wasi-shim/package.json")), "assembly");
  const use = [
    `WASYNCORE_WASIX=${target === "wasix" ? 1 : 0}`, `WASYNCORE_ABI=${abi}`, "ASC_WASI=1", "trace=wasi_trace", "seed=wasi_seed", "console=wasi_console",
    "crypto=wasi_crypto", "performance=wasi_performance", "process=wasi_process", "Date=wasi_Date",
  ];
  if (target === "wasix") use.push("abort=wasi_abort");
  // asc joins its base directory (the working directory) with these paths: give them relative
  const opts = ["--lib", relative(process.cwd(), shim) || ".", "--runtime", "incremental", "--initialMemory", "2", "--use", use.join(",")];
  opts.push(...(debug ? ["--debug", "--optimizeLevel", "0"] : ["--optimizeLevel", "1", "--shrinkLevel", "0"]));
  if (target === "host") opts.push("--exportStart", "_initialize", "--importMemory");
  else opts.push("--exportStart", "_start");
  return opts;
}

/** Compiles `entry` into `outFile`; throws with asc's diagnostics. */
export async function buildServer(entry: string, target: "host" | "wasix", outFile: string, extra: string[] = []): Promise<string> {
  const root = packageRoot();
  const { default: asc } = await import("assemblyscript/asc");
  mkdirSync(dirname(resolve(outFile)), { recursive: true });
  const rel = (p: string): string => relative(process.cwd(), p) || ".";
  // The exports must come from the same copy of the library as the source's imports: asc gives a file
  // imported as "wasyncore/assembly/server" (from node_modules) another identity than the same file by
  // path, and two copies would keep two channel tables. So a source that imports the package by name
  // gets its exports by name too, through a one-line entry file.
  let exportsEntry = join(root, "assembly/server/exports.ts");
  let scratch: string | null = null;
  if (/from\s+["']wasyncore\/assembly\//.test(readFileSync(entry, "utf8"))) {
    scratch = mkdtempSync(join(tmpdir(), "wasyncore-build-"));
    exportsEntry = join(scratch, "server-exports.ts");
    writeFileSync(exportsEntry, 'export * from "wasyncore/assembly/server/exports";\n');
  }
  const args = [rel(resolve(entry)), rel(exportsEntry), "--outFile", rel(resolve(outFile)),
    // an empty config of our own, or asc would read an asconfig.json in the working directory
    "--config", rel(join(root, "assembly/server/asconfig.json")), ...serverBuildOptions(target, extra.includes("--debug")), ...extra.filter((e) => e !== "--debug")];
  let stderr = "";
  let error: Error | null;
  try {
    ({ error } = await asc.main(args, { stderr: { write: (s: string | Uint8Array) => { stderr += String(s); return true; } }, stdout: { write: () => true } }));
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  if (error) throw new Error(`asc failed on ${relative(process.cwd(), entry) || entry}: ${error.message}\n${stderr}`);
  return outFile;
}

/** The `build` subcommand; returns the exit code. */
export async function buildCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string", short: "o" },
      target: { type: "string", default: "host" },
      debug: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one SRC.ts, got ${positionals.length}` : "missing SRC.ts");
  if (!values.out) throw new UsageError("missing -o OUT.wasm");
  if (values.target !== "host" && values.target !== "wasix") throw new UsageError(`--target must be host or wasix, got ${JSON.stringify(values.target)}`);
  if (!existsSync(positionals[0])) throw new UsageError(`cannot read ${positionals[0]}: ENOENT`);
  const t0 = Date.now();
  try {
    await buildServer(positionals[0], values.target, values.out, values.debug ? ["--debug"] : []);
  } catch (err) {
    process.stderr.write(`wasyncore build: ${(err as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`wasyncore build: ${values.out} (${values.target}, ${Date.now() - t0} ms)\n`);
  return 0;
}
