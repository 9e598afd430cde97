// The packed package in a fresh strict `nodenext` TypeScript project (no skipLibCheck): every shipped .d.ts, the
// README's examples and a consumer that uses every public export type-check with TypeScript 7 and 5.9, and the
// consumer runs on both backends.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installPacked, packedTarball, root } from "./packed.js";
import { missing } from "../support/index.js";

const TSC = {
  "TypeScript 7": join(root, "node_modules/typescript/bin/tsc"),
  "TypeScript 5.9": join(root, "tools/docs/node_modules/typescript/bin/tsc"),
};
const nativeBuilt = existsSync(join(root, "native/build/Release/wasyncore.node"));

const tsconfig = {
  compilerOptions: {
    target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, skipLibCheck: false,
    types: ["node"], typeRoots: [join(root, "node_modules/@types")], outDir: "out", rootDir: ".",
  },
  // every .d.ts the package ships, reachable from its exports or not, and the consumer
  include: ["main.ts", "readme-*.ts", "node_modules/wasyncore/build/host/**/*.d.ts"],
};

function run(cmd: string, args: string[], cwd: string): { status: number | null; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

// Runs once (vitest.config.ts: ONCE): the consumer itself runs on both backends.
describe("the packed package in a fresh strict TypeScript project", () => {
  let app = "";
  let readmeExamples: string[] = [];

  beforeAll(() => {
    app = installPacked("consumer");
    copyFileSync(join(root, "test/examples/consumer/main.ts"), join(app, "main.ts"));
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    // the README's TypeScript examples that import the package (type-checked, not run: they serve fixed ports)
    const readme = readFileSync(join(root, "README.md"), "utf8");
    readmeExamples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((code) => /from "wasyncore/.test(code));
    readmeExamples.forEach((code, i) => writeFileSync(join(app, `readme-${i + 1}.ts`), code));
    const openssl = (args: string[]): void => { execFileSync("openssl", args, { cwd: app, stdio: "pipe" }); };
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "key.pem"]);
    openssl(["req", "-x509", "-new", "-key", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost"]);
  }, 180_000);

  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  for (const [name, tsc] of Object.entries(TSC)) {
    it(`type-checks with ${name}, strict nodenext, without skipLibCheck (the consumer, the README's examples, every .d.ts)`, () => {
      expect(readmeExamples.length).toBeGreaterThanOrEqual(4);
      const r = run("node", [tsc, "-p", ".", "--noEmit"], app);
      expect(r.out).toBe("");
      expect(r.status).toBe(0);
    }, 120_000);
  }

  it("compiles the consumer and runs it on the net backend", () => {
    const build = run("node", [TSC["TypeScript 7"], "-p", "."], app);
    expect(build.out).toBe("");
    const r = run("node", ["out/main.js", "net", "cert.pem", "key.pem"], app);
    expect(r.stdout.trim(), r.out).toBe("consumer ok net");
    expect(r.status).toBe(0);
  }, 120_000);

  it.skipIf(missing("the native addon (npm run build:native)", !nativeBuilt))("runs the consumer on the native backend (the addon the install built)", () => {
    if (!existsSync(join(app, "out/main.js"))) run("node", [TSC["TypeScript 7"], "-p", "."], app);
    const r = run("node", ["out/main.js", "native", "cert.pem", "key.pem"], app);
    expect(r.stdout.trim(), r.out).toBe("consumer ok native");
    expect(r.status).toBe(0);
  }, 120_000);

  it("has setReuseAddr() in every README example that listens (a restart within 60 s would otherwise fail on native)", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const servers = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((code) => /\.listen\(\d/.test(code));
    expect(servers.length).toBeGreaterThanOrEqual(5);
    expect(servers.filter((code) => !code.includes("setReuseAddr()"))).toEqual([]);
  });

  it("ships the licenses and what consumers use: no tests, benchmarks, tools or TypeScript sources", () => {
    const files = execFileSync("tar", ["tzf", packedTarball()], { encoding: "utf8" }).split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));
    for (const f of ["LICENSE", "LICENSE-PSF", "README.md", "CHANGELOG.md", "package.json", "build/core.wasm", "build/host/index.js", "build/host/index.d.ts"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(test|bench|tools|host|\.ci)\//.test(f) || f.startsWith("native/build/"))).toEqual([]);
  });

  it("uses every export of wasyncore, wasyncore/chat, wasyncore/tls and wasyncore/sandbox, types included", () => {
    const source = readFileSync(join(root, "test/examples/consumer/main.ts"), "utf8");
    const surface = JSON.parse(readFileSync(join(root, "test/examples/surface.json"), "utf8")) as Record<string, Record<string, string>>;
    const names = new Set(Object.values(surface).flatMap((m) => Object.keys(m)));
    // type-only exports, from the shipped declarations
    for (const dts of ["index.d.ts", "tls/index.d.ts", "sandbox/index.d.ts"]) {
      const text = readFileSync(join(app, "node_modules/wasyncore/build/host", dts), "utf8");
      for (const m of text.matchAll(/\btype (\w+)/g)) names.add(m[1]);
    }
    const missing = [...names].filter((n) => !new RegExp(`\\b${n}\\b`).test(source));
    expect(missing).toEqual([]);
  });
});
