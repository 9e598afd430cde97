// .ci/run's last step: prints why the run failed (if it did) and exactly one closing line,
// "N passed, N failed, N skipped", from the summary reporter's file. Every failure counts: failed
// tests, suites, hooks, files that did not import, unhandled errors, a step of .ci/run that failed
// (--step-failed WHAT, repeatable), and on Linux a vitest project (net, net-public, native) that ran no test.
// Exits 1 when the failed count is not 0, else 0; a failed count of 0 always means a green run.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    summary: { type: "string", default: "build/ci-summary.json" },
    "vitest-status": { type: "string" },
    "step-failed": { type: "string", multiple: true, default: [] },
    projects: { type: "string", default: process.platform === "linux" ? "net,net-public,native" : "net,net-public" },
  },
});

const problems = [...values["step-failed"].map((s) => `${s} failed`)];
let passed = 0, failed = 0, skipped = 0;

if (values["vitest-status"] !== undefined) {
  if (!existsSync(values.summary)) {
    problems.push(`the test run wrote no summary (${values.summary}): the build or vitest's start failed (see above)`);
  } else {
    const s = JSON.parse(readFileSync(values.summary, "utf8"));
    ({ passed, failed, skipped } = s);
    for (const f of s.failures) console.log(`FAILED ${f.kind} [${f.project || "-"}] ${f.name}: ${f.error}`);
    for (const name of values.projects.split(",").filter(Boolean)) {
      const p = s.projects[name];
      const ran = p ? p.passed + p.failed : 0;
      if (ran > 0) continue;
      let why = p ? `its ${p.modules} files ran no test (${p.skipped} skipped)` : "vitest did not create it";
      if (name === "native") {
        const reason = existsSync("native/build/FAILED.txt") ? readFileSync("native/build/FAILED.txt", "utf8").trim() : "";
        why += reason ? `; the addon was not built: ${reason}` : existsSync("native/build/Release/wasyncore.node") ? "" : "; the addon native/build/Release/wasyncore.node is missing";
      }
      problems.push(`the '${name}' project ran no test: ${why}`);
    }
    if (Number(values["vitest-status"]) !== 0 && failed === 0) problems.push(`vitest exited with ${values["vitest-status"]} but reported no failure`);
  }
}

for (const p of problems) console.log(`FAILED: ${p}`);
failed += problems.length;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 ? 0 : 1);
