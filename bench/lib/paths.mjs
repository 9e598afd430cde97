// Where things are: the bench directory, the repository root, transient output.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
export const OUT_DIR = path.join(BENCH_DIR, 'out');
export const LOG_DIR = path.join(OUT_DIR, 'logs');
export const WASYNCORE_ENTRY = path.join(ROOT_DIR, 'build', 'host', 'index.js');
