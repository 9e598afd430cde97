// A vitest reporter that writes what the run did to build/ci-summary.json (or $WASYNCORE_CI_SUMMARY),
// per project: tests passed, failed and skipped, plus every failure that is not a test (a suite or
// hook that threw, a file that did not import, an unhandled error), each counted as one failure.
// .ci/run prints its closing line from this file and checks that every project ran tests.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const first = (errors) => {
  const e = errors?.[0];
  return e ? String(e.message ?? e.name ?? e).split("\n")[0].slice(0, 300) : "";
};

export default class SummaryReporter {
  onInit(vitest) {
    this.root = vitest.config.root;
    this.file = resolve(this.root, process.env.WASYNCORE_CI_SUMMARY ?? "build/ci-summary.json");
  }

  onTestRunEnd(testModules, unhandledErrors, reason) {
    const projects = {};
    const failures = [];
    const skips = [];
    const project = (name) => (projects[name] ??= { modules: 0, passed: 0, failed: 0, skipped: 0, otherFailures: 0 });
    for (const m of testModules) {
      const p = project(m.project.name || "default");
      const file = relative(this.root, m.moduleId);
      p.modules += 1;
      let failedHere = 0;
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === "passed") p.passed += 1;
        else if (r.state === "skipped") {
          p.skipped += 1;
          skips.push(`[${m.project.name}] ${file} > ${t.fullName}`);
        }
        else if (r.state === "failed") {
          p.failed += 1;
          failedHere += 1;
          failures.push({ project: m.project.name, kind: "test", name: `${file} > ${t.fullName}`, error: first(r.errors) });
        }
        // "pending" after the run: the test never finished (the run was cut short); the module's state says so.
      }
      // Errors outside tests: an import or collection error, a beforeAll/afterAll that threw.
      for (const s of [m, ...m.children.allSuites()]) {
        const errors = s.errors();
        if (errors.length === 0) continue;
        p.otherFailures += 1;
        failedHere += 1;
        failures.push({ project: m.project.name, kind: s === m ? "file" : "suite", name: s === m ? file : `${file} > ${s.fullName}`, error: first(errors) });
      }
      const state = m.state();
      if (failedHere === 0 && state !== "passed" && state !== "skipped") {
        p.otherFailures += 1;
        failures.push({ project: m.project.name, kind: "file", name: file, error: `the file ended ${state}` });
      }
    }
    for (const e of unhandledErrors) failures.push({ project: "", kind: "unhandled", name: e.name ?? "Error", error: first([e]) });
    const sum = (k) => Object.values(projects).reduce((n, p) => n + p[k], 0);
    const summary = {
      reason,
      passed: sum("passed"),
      failed: sum("failed") + sum("otherFailures") + unhandledErrors.length,
      skipped: sum("skipped"),
      unhandledErrors: unhandledErrors.length,
      projects,
      failures,
      skips,
    };
    if (reason !== "passed" && summary.failed === 0) {
      summary.failed = 1;
      failures.push({ project: "", kind: "run", name: "vitest", error: `the run ended ${reason} without a failed test, suite or error` });
    }
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify(summary, null, 2)}\n`);
  }
}
