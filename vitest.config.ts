import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Two projects, one run: the whole suite on the `net` backend, and again on the native backend
// (WASYNCORE_BACKEND=native) where the addon was built (npm ci builds it). test/native/ holds the
// native backend's own tests. A file that asserts net-only emulation goes in NET_ONLY.
const NET_ONLY: string[] = [
  // Output at the core's memory cap: native sends straight from the caller's Buffer to the kernel,
  // so output never takes core memory and there is no cap to wait on.
  "test/reliability/memory-cap-write.test.ts",
];
const nativeBuilt = existsSync(new URL("./native/build/Release/wasyncore.node", import.meta.url));
if (!nativeBuilt) console.warn("vitest: the native addon is not built (npm run build:native): testing the 'net' backend only");

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    fileParallelism: true,
    projects: [
      {
        extends: true,
        test: { name: "net", include: ["test/**/*.test.ts"], exclude: ["test/native/**", "test/net-public/**"], env: { WASYNCORE_BACKEND: "net" } },
      },
      // `net` over Node's public node:net/node:dgram API (where process.binding is refused): its own
      // tests and a subset of the suite (diagnostics.test.ts asserts the libuv path's null reason).
      {
        extends: true,
        test: {
          name: "net-public",
          include: ["test/net-public/**/*.test.ts", "test/asyncore/*.test.ts", "test/chat/*.test.ts", "test/udp/*.test.ts", "test/files/*.test.ts", "test/reliability/faults-network.test.ts"],
          exclude: ["test/asyncore/diagnostics.test.ts"],
          env: { WASYNCORE_BACKEND: "net", WASYNCORE_NET_PUBLIC: "1" },
        },
      },
      ...(nativeBuilt
        ? [{ extends: true as const, test: { name: "native", include: ["test/**/*.test.ts"], exclude: [...NET_ONLY, "test/net-public/**"], env: { WASYNCORE_BACKEND: "native" } } }]
        : []),
    ],
  },
});
