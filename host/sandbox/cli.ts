#!/usr/bin/env node
// The `wasyncore` command: run one server module, serve several from a config, build one from
// AssemblyScript. Exit codes: 0 ok (or stopped by SIGTERM/SIGINT), 1 a module failed, 2 usage.
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { WasmServer } from "./server.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { UsageError, intFlag, endpointList, formatAddress, tlsList } from "./config.js";

const RUN_USAGE = `usage: wasyncore run MODULE.wasm [options] [-- MODULE-ARGS...]

Runs one host-flavour server module in a sandbox: its own process, a capped memory, a wall-time
budget per pass, and only the network addresses granted here.

options:
  --listen HOST:PORT         an address the module may listen on (repeatable; port 0 = any free port)
  --listen-tls HOST:PORT     serve TLS there with --cert/--key (repeatable); the runner terminates TLS and
                             the module gets plaintext on a loopback address appended to its --listen args
  --cert FILE, --key FILE    PEM certificate chain and private key for --listen-tls (the module never sees them)
  --allow-connect HOST:PORT  an address the module may connect to (repeatable)
  --listen-udp HOST:PORT     an address the module may bind a datagram socket to (repeatable; port 0 = any
                             free port); that socket may reply to any address that sent it a datagram in
                             the last 30 s (the 1024 most recent senders per socket)
  --allow-udp HOST:PORT      an address the module may send datagrams to (repeatable)
  --memory-mb N              cap on the module's linear memory in MiB (default ${DEFAULT_LIMITS.memoryMb})
  --cpu-ms N                 wall-time budget of one pass in ms; over it the module is killed (default ${DEFAULT_LIMITS.cpuMs})
  --heap-mb N                V8 heap limit of the module's process in MiB (default ${DEFAULT_LIMITS.heapMb})
  --name NAME                the module's name in logs (default: the file name)
  -h, --help                 this text

exit codes: 0 the module ended or SIGTERM/SIGINT stopped it; 1 the module failed (could not listen,
trapped, exceeded a budget, was killed); 2 usage`;

const USAGE = `usage: wasyncore <command> [options]

commands:
  run MODULE.wasm [options] [-- ARGS...]   run one server module (wasyncore run --help)
  serve CONFIG.json                        run several modules with restarts (wasyncore serve --help)
  build SRC.ts -o OUT.wasm [--target host|wasix]
                                           compile an AssemblyScript server (wasyncore build --help)

options:
  -h, --help       this text
  -v, --version    the package version

exit codes: 0 ok, 1 a module failed, 2 usage`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** --listen-tls addresses with the one --cert/--key pair, checked (files read, key matching). */
function tlsFlags(addresses: string[], cert: string | undefined, key: string | undefined) {
  if (addresses.length === 0) {
    if (cert !== undefined || key !== undefined) throw new UsageError(`${cert !== undefined ? "--cert" : "--key"} is only for --listen-tls`);
    return [];
  }
  if (cert === undefined || key === undefined) throw new UsageError(`--listen-tls needs ${cert === undefined ? "--cert" : "--key"} FILE`);
  return tlsList("--listen-tls", addresses.map((listen) => ({ listen, cert, key })));
}

async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const moduleArgs = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parseArgs({
    args: dash >= 0 ? argv.slice(0, dash) : argv,
    allowPositionals: true,
    options: {
      listen: { type: "string", multiple: true },
      "allow-connect": { type: "string", multiple: true },
      "listen-udp": { type: "string", multiple: true },
      "allow-udp": { type: "string", multiple: true },
      "listen-tls": { type: "string", multiple: true },
      cert: { type: "string" },
      key: { type: "string" },
      "memory-mb": { type: "string" },
      "cpu-ms": { type: "string" },
      "heap-mb": { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) { process.stdout.write(`${RUN_USAGE}\n`); return 0; }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one MODULE.wasm, got ${positionals.map((p) => JSON.stringify(p)).join(" ")}` : "missing MODULE.wasm");
  const file = positionals[0];
  const opts = {
    listen: endpointList("--listen", values.listen ?? []),
    allowConnect: endpointList("--allow-connect", values["allow-connect"] ?? []),
    listenUdp: endpointList("--listen-udp", values["listen-udp"] ?? []),
    allowUdp: endpointList("--allow-udp", values["allow-udp"] ?? []),
    listenTls: tlsFlags(values["listen-tls"] ?? [], values.cert, values.key),
    memoryMb: intFlag("--memory-mb", values["memory-mb"], 1, 4096, DEFAULT_LIMITS.memoryMb),
    cpuMs: intFlag("--cpu-ms", values["cpu-ms"], 1, 3_600_000, DEFAULT_LIMITS.cpuMs),
    heapMb: intFlag("--heap-mb", values["heap-mb"], 16, 16384, DEFAULT_LIMITS.heapMb),
    name: values.name,
    args: moduleArgs,
  };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let server: WasmServer;
  try {
    server = await WasmServer.start(bytes, { ...opts, name: opts.name ?? file.replace(/^.*[\\/]/, "") });
  } catch (err) {
    say((err as Error).message);
    return 1;
  }
  for (const a of server.listening) say(`wasyncore: ${server.name} listening on ${formatAddress(a.host, a.port)}`);
  for (const a of server.listeningTls) say(`wasyncore: ${server.name} listening on ${formatAddress(a.host, a.port)} (TLS)`);
  for (const a of server.listeningUdp) say(`wasyncore: ${server.name} listening on ${formatAddress(a.host, a.port)} (UDP)`);
  let signalled = false;
  const stop = (): void => {
    if (signalled) { server.close(); return; } // a second signal: at once
    signalled = true;
    void server.drain(5000);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const err = await server.done;
  if (err) { say(err.message); return 1; }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  try {
    if (command === "run") return await run(argv.slice(1));
    if (command === "serve") return await (await import("./serve.js")).serveCommand(argv.slice(1));
    if (command === "build") return await (await import("./build.js")).buildCommand(argv.slice(1));
    const { values } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } } });
    if (values.version) { process.stdout.write(`${version()}\n`); return 0; }
    if (values.help) { process.stdout.write(`${USAGE}\n`); return 0; }
    throw new UsageError(command === undefined ? "missing command" : `unknown command ${JSON.stringify(command)}`);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || (typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS"))) {
      say(`wasyncore${command === "run" || command === "serve" || command === "build" ? ` ${command}` : ""}: ${e.message}`);
      say(`(wasyncore ${command === "run" || command === "serve" || command === "build" ? `${command} ` : ""}--help for usage)`);
      return 2;
    }
    say(`wasyncore: ${e.message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
