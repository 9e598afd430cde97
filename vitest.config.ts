import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Two projects, one run: every test on the `net` backend, and the suites below again on the
// native backend (WASYNCORE_BACKEND=native) — where the addon was built (npm ci builds it).
const NATIVE_SUITES = ["test/asyncore/**/*.test.ts", "test/examples/**/*.test.ts", "test/native/**/*.test.ts"];
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
        test: { name: "net", include: ["test/**/*.test.ts"], exclude: ["test/native/**"], env: { WASYNCORE_BACKEND: "net" } },
      },
      ...(nativeBuilt
        ? [{ extends: true as const, test: { name: "native", include: NATIVE_SUITES, env: { WASYNCORE_BACKEND: "native" } } }]
        : []),
    ],
  },
});
