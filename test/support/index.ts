// Shared test helpers: the run's backend, skip conditions with checked reasons, SocketError codes, waiting.
import { SocketError, type ChannelMap } from "../../host/index.js";

/** The backend this vitest project runs on (vitest.config.ts sets WASYNCORE_BACKEND per project). */
export const BACKEND: "net" | "native" = process.env.WASYNCORE_BACKEND === "native" ? "native" : "net";
export const NATIVE = BACKEND === "native";
/** `net` over Node's public node:net/node:dgram API (the net-public project: WASYNCORE_NET_PUBLIC=1). */
export const NET_PUBLIC = BACKEND === "net" && process.env.WASYNCORE_NET_PUBLIC === "1";

const inCI = !!process.env.CI && process.env.CI !== "false" && process.platform === "linux";

/**
 * A skip condition for behaviour that differs by backend: true when this run's backend is `backend`
 * ("net" includes its net-public path; "net-public" is that path alone). `row` is the first cell of the
 * README table row that states the difference; test/layout/skips.test.ts checks that the row exists.
 */
export function onBackend(backend: "net" | "net-public" | "native", row: string): boolean {
  void row;
  return backend === "net-public" ? NET_PUBLIC : BACKEND === backend;
}

/**
 * A skip condition for something this machine may lack (python3, mkfifo, the built addon or host):
 * returns `isMissing`. CI on Linux has all of them, so there a missing one throws instead of skipping.
 */
export function missing(what: string, isMissing: boolean): boolean {
  if (isMissing && inCI) throw new Error(`${what} is missing; CI on Linux must not skip for it`);
  return isMissing;
}

/**
 * A skip condition that CPython's test_asyncore.py has too: `reason` is its skip text, which
 * test/layout/skips.test.ts finds in CPython's file.
 */
export function asCPython(skip: boolean, reason: string): boolean {
  void reason;
  return skip;
}

/** The `code` of the SocketError `fn` throws, or "no error"; any other exception propagates. */
export function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SocketError) return err.code;
    throw err;
  }
  return "no error";
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` holds, checking every `every` ms; rejects naming `what` after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = "condition", every = 2): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/**
 * Waits until `counter()` stops changing for `quietMs` (checked every 10 ms), at most `ms`; returns its
 * value. Use before "nothing more happens" checks instead of a fixed sleep: a loaded machine only makes
 * it wait longer.
 */
export async function settled(counter: () => number, quietMs = 100, ms = 10_000): Promise<number> {
  const end = performance.now() + ms;
  let value = counter();
  let since = performance.now();
  for (;;) {
    await sleep(10);
    const now = counter();
    if (now !== value) { value = now; since = performance.now(); }
    else if (performance.now() - since >= quietMs) return value;
    if (performance.now() > end) throw new Error(`still changing after ${ms} ms (now ${value})`);
  }
}

/**
 * Resolves once `map`'s running loop made `n` more passes (counted by a 10 ms callEvery timer on the map,
 * which runs at most once per pass): the positive control for a "nothing happened meanwhile" check.
 */
export async function passes(map: ChannelMap, n: number, ms = 20_000): Promise<void> {
  let count = 0;
  const h = map.callEvery(0.01, () => { count++; });
  try {
    await until(() => count >= n, ms, `${n} passes of the loop`, 5);
  } finally {
    h.cancel();
  }
}
