// Issue 19's AssemblyScript examples from the packed tarball alone: the prebuilt SMTP sink (AsyncChat)
// and idle-timeout echo (timers) ship in build/servers and serve under `npx wasyncore run`.
import { it, expect } from "vitest";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { installPacked } from "../examples/packed.js";
import { until } from "./helpers.js";
import { LineClient } from "./wasmapi-helpers.js";

async function run(app: string, wasm: string, args: string[], talk: (port: number) => Promise<void>): Promise<void> {
  // its own process group: SIGTERM reaches npx and the runner under it
  const p = spawn("npx", ["--no", "wasyncore", "run", wasm, "--listen", "127.0.0.1:0", "--", ...args], { cwd: app, stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => p.on("close", () => r()));
  try {
    const re = /listening on 127\.0\.0\.1:(\d+)/;
    await until(() => re.test(stderr) || p.exitCode !== null, 60_000, `${wasm} to listen: ${stderr}`);
    await talk(Number(re.exec(stderr)?.[1]));
  } finally {
    process.kill(-p.pid!, "SIGTERM");
    await exited;
  }
}

it("the SMTP sink and the idle-timeout echo run from node_modules/wasyncore/build/servers", async () => {
  const app = installPacked("wasmapi-consumer");
  const servers = join(app, "node_modules/wasyncore/build/servers");
  for (const n of ["smtp", "idle-echo"]) for (const f of ["host", "wasix"]) expect(existsSync(join(servers, `${n}.${f}.wasm`)), `${n}.${f}.wasm`).toBe(true);
  await run(app, "node_modules/wasyncore/build/servers/smtp.host.wasm", ["--fqdn", "packed.test"], async (port) => {
    const c = await LineClient.open(port);
    expect(await c.line()).toBe("220 packed.test wasyncore smtp-sink");
    expect(await c.ask("EHLO me")).toBe("250 packed.test");
    expect(await c.ask("QUIT")).toBe("221 Bye");
    expect(await c.rest()).toBe("");
  });
  await run(app, "node_modules/wasyncore/build/servers/idle-echo.host.wasm", ["--idle", "0.3"], async (port) => {
    const c = await LineClient.open(port);
    c.sock.write("hello\n");
    expect(await c.rest()).toBe("hello\nidle timeout, bye\n");
  });
}, 600_000);
