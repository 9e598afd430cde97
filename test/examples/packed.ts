// The package as a user gets it: `npm pack` once per test process (or WASYNCORE_TARBALL, a tarball made before),
// installed into fresh projects in temp directories.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root. */
export const root = new URL("../../", import.meta.url).pathname;

let tarball: string | null = null;

/**
 * The package tarball: $WASYNCORE_TARBALL when set (reused as it is), else `npm pack` of the current build
 * (`npm test` builds first), made once per process.
 */
export function packedTarball(): string {
  const given = process.env.WASYNCORE_TARBALL;
  if (given) {
    const p = resolve(root, given);
    if (!existsSync(p)) throw new Error(`WASYNCORE_TARBALL=${given}: no such file`);
    return p;
  }
  if (tarball !== null && existsSync(tarball)) return tarball;
  const dir = mkdtempSync(join(tmpdir(), "wasyncore-pack-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: root, stdio: "pipe" });
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tgz) throw new Error(`npm pack made no tarball in ${dir}`);
  tarball = join(dir, tgz);
  return tarball;
}

/** A fresh ESM project in a temp dir with the packed package installed (its install script runs, as a user's would). */
export function installPacked(name: string): string {
  const app = mkdtempSync(join(tmpdir(), `wasyncore-${name}-`));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name, version: "1.0.0", type: "module", private: true }, null, 2));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", packedTarball()], { cwd: app, stdio: "pipe" });
  return app;
}
