// .ci/run's closing line cannot lie (issue 20): deliberately broken fixtures run through the summary
// reporter and .ci/close.mjs give a non-zero failed count that includes failed hooks, files that did not
// import and unhandled errors, show the skips, and exit 1; a missing backend project or step counts too;
// and vitest.config.ts refuses to run without the native addon under CI on Linux.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missing } from "../support/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const vitest = join(root, "node_modules/vitest/vitest.mjs");

/** Runs the fixtures `files` through vitest with the summary reporter; returns the summary's path. */
function runFixtures(dir: string, files: string[]): { status: number | null; summary: string } {
  const summary = join(dir, "summary.json");
  const r = spawnSync(process.execPath, [vitest, "run", "--config", "test/ci/fixtures/vitest.fixture.config.ts",
    "--reporter=dot", "--reporter=./.ci/summary-reporter.mjs"], {
    cwd: root, encoding: "utf8", timeout: 120_000,
    env: { ...process.env, FIXTURES: files.join(","), WASYNCORE_CI_SUMMARY: summary, CI: "", VITEST: undefined, VITEST_POOL_ID: undefined, VITEST_WORKER_ID: undefined },
  });
  return { status: r.status, summary };
}

function close(args: string[]): { status: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, [join(root, ".ci/close.mjs"), ...args], { cwd: root, encoding: "utf8" });
  return { status: r.status, lines: r.stdout.trimEnd().split("\n") };
}

describe(".ci/run's closing line", () => {
  it("counts every failure of a broken run: tests, hooks, a file that did not import, an unhandled error", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasyncore-ci-"));
    try {
      const run = runFixtures(dir, ["broken", "import-error", "green"]);
      expect(run.status).toBe(1);
      const s = JSON.parse(readFileSync(run.summary, "utf8"));
      // passed: "passes", "passes first", the unhandled error's test, green's two
      // failed: "fails", the beforeAll suite, the afterAll suite, import-error's file, the unhandled error
      // skipped: "is skipped", the test the failed beforeAll skipped
      expect({ passed: s.passed, failed: s.failed, skipped: s.skipped }).toEqual({ passed: 5, failed: 5, skipped: 2 });
      expect(s.failures.map((f: { kind: string }) => f.kind).sort()).toEqual(["file", "suite", "suite", "test", "unhandled"]);
      const c = close(["--summary", run.summary, "--vitest-status", "1", "--projects", "net"]);
      expect(c.status).toBe(1);
      expect(c.lines.at(-1)).toBe("5 passed, 5 failed, 2 skipped");
      expect(c.lines.filter((l) => l.startsWith("FAILED"))).toHaveLength(5);
      // on Linux both projects must have run: the missing one is one more failure, with the reason
      const both = close(["--summary", run.summary, "--vitest-status", "1", "--projects", "net,native"]);
      expect(both.lines.at(-1)).toBe("5 passed, 6 failed, 2 skipped");
      expect(both.lines).toContain("FAILED: the 'native' project ran no test: vitest did not create it");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is green only when nothing failed, and a failed step or a missing summary is a failure", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasyncore-ci-"));
    try {
      const run = runFixtures(dir, ["green"]);
      expect(run.status).toBe(0);
      const ok = close(["--summary", run.summary, "--vitest-status", "0", "--projects", "net"]);
      expect([ok.status, ok.lines.at(-1)]).toEqual([0, "2 passed, 0 failed, 0 skipped"]);
      expect(ok.lines).toHaveLength(1);
      const bench = close(["--summary", run.summary, "--vitest-status", "0", "--projects", "net", "--step-failed", "the bench smoke run"]);
      expect([bench.status, bench.lines.at(-1)]).toEqual([1, "2 passed, 1 failed, 0 skipped"]);
      const lying = close(["--summary", run.summary, "--vitest-status", "1", "--projects", "net"]);
      expect([lying.status, lying.lines.at(-1)]).toEqual([1, "2 passed, 1 failed, 0 skipped"]);
      const none = close(["--summary", join(dir, "missing.json"), "--vitest-status", "1"]);
      expect([none.status, none.lines.at(-1)]).toEqual([1, "0 passed, 1 failed, 0 skipped"]);
      const npmCi = close(["--step-failed", "npm ci"]);
      expect([npmCi.status, npmCi.lines]).toEqual([1, ["FAILED: npm ci failed", "0 passed, 1 failed, 0 skipped"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("vitest.config.ts without the native addon", () => {
  /** Runs `vitest list` with a copy of the config in a directory whose addon the install failed to build. */
  function listWithoutAddon(ci: string): { status: number | null; out: string } {
    const dir = mkdtempSync(join(tmpdir(), "wasyncore-noaddon-"));
    try {
      mkdirSync(join(dir, "native/build"), { recursive: true });
      writeFileSync(join(dir, "native/build/FAILED.txt"), "node-gyp exited with 1\ngyp ERR! stack Error: not found: make\n");
      copyFileSync(join(root, "vitest.config.ts"), join(dir, "vitest.config.ts"));
      symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
      mkdirSync(join(dir, "test"));
      writeFileSync(join(dir, "test/one.test.ts"), 'import { it } from "vitest";\nit("runs", () => {});\n');
      const r = spawnSync(process.execPath, [vitest, "list", "--filesOnly"], {
        cwd: dir, encoding: "utf8", timeout: 120_000,
        env: { ...process.env, CI: ci, VITEST: undefined, VITEST_POOL_ID: undefined, VITEST_WORKER_ID: undefined },
      });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.skipIf(missing("Linux", process.platform !== "linux"))("fails under CI on Linux, with the install's reason; elsewhere warns and runs the net project", () => {
    const ci = listWithoutAddon("true");
    expect(ci.status).not.toBe(0);
    expect(ci.out).toContain("vitest: the native addon is not built (npm run build:native): the install said: node-gyp exited with 1");
    const local = listWithoutAddon("");
    expect(local.status).toBe(0);
    expect(local.out).toContain("testing the 'net' backend only");
    expect(local.out).toContain("[net] test/one.test.ts");
    expect(local.out).not.toContain("[native]");
  });
});
