#!/usr/bin/env node
// The native backend against the net backend, raw Node net and CPython asyncore: the main
// harness (bench/run.mjs) on a subset of its scenarios and servers. Every run of the harness
// already measures both backends and the server's CPU µs per operation, so this is a shortcut:
//   node bench/native-compare.mjs [--quick] [--rounds N] [--only http-50,echo-100,...]
// Output: bench/out/native-compare/RESULTS.md (+ results.svg); any other option goes to run.mjs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, OUT_DIR } from './lib/paths.mjs';

const args = process.argv.slice(2);
const has = (flag) => args.includes(flag);
const argv = [
  path.join(BENCH_DIR, 'run.mjs'),
  ...(has('--only') ? [] : ['--only', 'http-50,http-400,echo-100,echo-1000,bulk']),
  ...(has('--servers') ? [] : ['--servers', 'wasyncore-native,wasyncore-net,node-net,asyncore']),
  ...(has('--out') ? [] : ['--out', path.join(OUT_DIR, 'native-compare')]),
  ...args,
];
const r = spawnSync(process.execPath, argv, { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
