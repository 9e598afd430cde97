import { existsSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Projects, one run: the whole suite on the `net` backend, and again on the native backend
// (WASYNCORE_BACKEND=native) where the addon was built (npm ci builds it). test/native/ holds the
// native backend's own tests, except BOTH_BUILDS: tests of the install itself, which run in the net
// project whether or not the addon was built. NET_ONLY: files the native project leaves out.
const BOTH_BUILDS = ["install", "missing-addon"];
const NET_ONLY: string[] = [
  ...BOTH_BUILDS.map((f) => `test/native/${f}.test.ts`),
  // No backend: .ci/run's closing line on broken fixtures runs once.
  "test/ci/closing-line.test.ts",
  // Output at the core's memory cap: native sends straight from the caller's Buffer to the kernel,
  // so output never takes core memory and there is no cap to wait on.
  "test/reliability/memory-cap-write.test.ts",
];
// Checks of the package itself, not of a backend (the packed consumer runs on both backends by itself): run once.
const ONCE = ["test/examples/consumer.test.ts", "test/examples/pack.test.ts", "test/examples/docs.test.ts", "test/examples/build-if-stale.test.ts", "test/sandbox/*.test.ts", "test/wasm-servers/wasmapi-pack*.test.ts"];
const nativeBuilt = existsSync(new URL("./native/build/Release/wasyncore.node", import.meta.url));
if (!nativeBuilt) {
  const failed = new URL("./native/build/FAILED.txt", import.meta.url);
  const why = existsSync(failed) ? `: the install said: ${readFileSync(failed, "utf8").trim()}` : "";
  const msg = `the native addon is not built (npm run build:native)${why}`;
  // In CI on Linux the native project must run: a missing addon fails the run instead of shrinking it.
  if (process.env.CI && process.env.CI !== "false" && process.platform === "linux") throw new Error(`vitest: ${msg}`);
  console.warn(`vitest: ${msg}; testing the 'net' backend only`);
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    fileParallelism: true,
    projects: [
      {
        extends: true,
        test: { name: "net", include: ["test/**/*.test.ts"], exclude: [`test/native/!(${BOTH_BUILDS.join("|")}).test.ts`, "test/net-public/**"], env: { WASYNCORE_BACKEND: "net" } },
      },
      // `net` over Node's public node:net/node:dgram API (where process.binding is refused): its own
      // tests and a subset of the suite (diagnostics.test.ts asserts the libuv path's null reason).
      {
        extends: true,
        test: {
          name: "net-public",
          include: ["test/net-public/**/*.test.ts", "test/asyncore/*.test.ts", "test/chat/*.test.ts", "test/udp/*.test.ts", "test/files/*.test.ts", "test/cores/*.test.ts", "test/reliability/faults-network.test.ts"],
          exclude: ["test/asyncore/diagnostics.test.ts"],
          env: { WASYNCORE_BACKEND: "net", WASYNCORE_NET_PUBLIC: "1" },
        },
      },
      ...(nativeBuilt
        ? [{ extends: true as const, test: { name: "native", include: ["test/**/*.test.ts"], exclude: [...NET_ONLY, ...ONCE, "test/net-public/**"], env: { WASYNCORE_BACKEND: "native" } } }]
        : []),
    ],
  },
});
