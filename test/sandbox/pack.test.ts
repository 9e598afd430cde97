// A consumer from the packed tarball alone: installs it, builds its own AssemblyScript server with
// `npx wasyncore build`, serves it with `npx wasyncore run`, and a real client gets its bytes back;
// the prebuilt example modules ship too.
import { it, expect } from "vitest";
import { spawn, execFileSync } from "node:child_process";
import { writeFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { installPacked } from "../examples/packed.js";
import { echoOnce, until, root } from "./helpers.js";

const SERVER = `// A consumer's server: echoes, upper-cased.
import { Dispatcher, Socket, serve, argValue, parseHostPort } from "wasyncore/assembly/server";

class Shout extends Dispatcher {
  handleRead(): void {
    let d = this.recv(4096);
    for (let i = 0; i < d.length; i++) if (d[i] >= 97 && d[i] <= 122) d[i] -= 32;
    if (d.length > 0) this.send(d);
  }
  writable(): bool { return false; }
  handleClose(): void { this.close(); }
}

class Server extends Dispatcher {
  handleAccepted(sock: Socket): void { new Shout(sock); }
}

serve((): void => {
  let a = parseHostPort(argValue("--listen", "127.0.0.1:0"));
  let s = new Server();
  s.createSocket();
  s.bind(a.host, a.port);
  s.listen(16);
});
`;

async function serveAndAsk(app: string, wasm: string, name: string, text: string): Promise<{ reply: string; code: number | null; stderr: string }> {
  // its own process group: SIGTERM reaches npx and the runner under it, as Ctrl-C in a terminal would
  const p = spawn("npx", ["--no", "wasyncore", "run", wasm, "--listen", "127.0.0.1:0"], { cwd: app, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((r) => p.on("close", (code) => r(code)));
  const re = new RegExp(`wasyncore: ${name} listening on 127\\.0\\.0\\.1:(\\d+)`);
  await until(() => re.test(stderr) || p.exitCode !== null, 60_000, `${name} to listen: ${stderr}`);
  const port = Number(re.exec(stderr)?.[1]);
  const reply = await echoOnce(port, text);
  process.kill(-p.pid!, "SIGTERM");
  return { reply, code: await exited, stderr };
}

it("builds a consumer's AssemblyScript server with `npx wasyncore build` and serves it with `npx wasyncore run`, from node_modules alone", async () => {
  const app = installPacked("sandbox-consumer");
  const pkg = join(app, "node_modules/wasyncore");
  for (const f of ["assembly/server/index.ts", "assembly/index.ts", "build/servers/echo.host.wasm", "build/servers/http.wasix.wasm", "examples/assembly/echo.ts"]) {
    expect(existsSync(join(pkg, f)), f).toBe(true);
  }
  writeFileSync(join(app, "shout.ts"), SERVER);
  execFileSync("npx", ["--no", "wasyncore", "build", "shout.ts", "-o", "out/shout.wasm", "--target", "host"], { cwd: app, stdio: "pipe", timeout: 240_000 });
  execFileSync("npx", ["--no", "wasyncore", "build", "shout.ts", "-o", "out/shout.wasix.wasm", "--target", "wasix"], { cwd: app, stdio: "pipe", timeout: 240_000 });
  expect(existsSync(join(app, "out/shout.wasix.wasm"))).toBe(true);
  // the README's AssemblyScript example builds as it is
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const example = /```typescript\n(\/\/ my-server\.ts[\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  writeFileSync(join(app, "my-server.ts"), example!);
  execFileSync("npx", ["--no", "wasyncore", "build", "my-server.ts", "-o", "my-server.wasm"], { cwd: app, stdio: "pipe", timeout: 240_000 });
  expect(existsSync(join(app, "my-server.wasm"))).toBe(true);
  const own = await serveAndAsk(app, "out/shout.wasm", "shout.wasm", "hello from a consumer");
  expect(own.reply).toBe("HELLO FROM A CONSUMER");
  // npx itself dies of the group's SIGTERM (code null); the runner under it drained quietly (its own
  // exit codes are test/sandbox/cli.test.ts's)
  expect([0, null]).toContain(own.code);
  expect(own.stderr).not.toMatch(/Warning|stopped|died/);
  // the prebuilt example ships and runs as it is
  const prebuilt = await serveAndAsk(app, "node_modules/wasyncore/build/servers/echo.host.wasm", "echo.host.wasm", "prebuilt");
  expect(prebuilt.reply).toBe("prebuilt");
}, 600_000);
