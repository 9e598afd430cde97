#!/usr/bin/env node
// wasyncore run SERVER.wasm --listen HOST:PORT [--allow-connect HOST:PORT ...] [--memory-mb N] [-- ARGS...]
import { WasmServer } from "./server.js";

const USAGE = "usage: wasyncore run SERVER.wasm --listen HOST:PORT [--listen ...] [--allow-connect HOST:PORT ...] [--memory-mb N] [-- MODULE-ARGS...]";

function parse(argv: string[]): { file: string; listen: string[]; allowConnect: string[]; memoryMb: number; args: string[] } {
  if (argv[0] !== "run" || argv.length < 2) throw new Error(USAGE);
  const out = { file: argv[1], listen: [] as string[], allowConnect: [] as string[], memoryMb: 256, args: [] as string[] };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--listen") out.listen.push(value());
    else if (a === "--allow-connect") out.allowConnect.push(value());
    else if (a === "--memory-mb") out.memoryMb = Number(value());
    else if (a === "--") { out.args = argv.slice(i + 1); break; }
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return out;
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const server = await WasmServer.start(opts.file, opts);
  for (const a of server.listening) process.stderr.write(`wasyncore: ${server.name} listening on ${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}\n`);
  const stop = (): void => server.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const err = await server.done;
  if (err) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
