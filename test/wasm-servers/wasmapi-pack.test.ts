// Issue 19's AssemblyScript examples from the packed tarball alone: the prebuilt SMTP sink (AsyncChat),
// idle-timeout echo (timers) and UDP echo (datagrams) ship in build/servers and serve under
// `npx wasyncore run`; the UDP echo's TypeScript twin ships in build/examples and answers the same.
import { it, expect } from "vitest";
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { installPacked } from "../examples/packed.js";
import { until } from "./helpers.js";
import { LineClient, npxRun } from "./wasmapi-helpers.js";

const run = (app: string, wasm: string, args: string[], talk: (port: number) => Promise<void>, grant = "--listen"): Promise<void> =>
  npxRun(app, wasm, [grant, "127.0.0.1:0"], args, talk);

it("the SMTP sink, the idle-timeout echo and the UDP echo (with its TypeScript twin) run from node_modules/wasyncore", async () => {
  const app = installPacked("wasmapi-consumer");
  const servers = join(app, "node_modules/wasyncore/build/servers");
  for (const n of ["smtp", "idle-echo", "udp-echo"]) for (const f of ["host", "wasix"]) expect(existsSync(join(servers, `${n}.${f}.wasm`)), `${n}.${f}.wasm`).toBe(true);
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
  // the UDP echo and its TypeScript twin (node_modules/wasyncore/build/examples) answer the same datagrams alike
  const twin = spawn(process.execPath, [join(app, "node_modules/wasyncore/build/examples/udp-echo-server.js"), "0"], { cwd: app, stdio: ["ignore", "pipe", "inherit"] });
  try {
    let out = "";
    twin.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
    const re = /udp echo server on 127\.0\.0\.1:(\d+)/;
    await until(() => re.test(out), 20_000, `the TypeScript UDP echo to bind: ${out}`);
    const twinPort = Number(re.exec(out)![1]);
    const datagrams = [Buffer.from("packed udp"), Buffer.alloc(0), Buffer.alloc(3000, 0xab)];
    const ask = async (port: number): Promise<Buffer[]> => {
      const c = dgram.createSocket("udp4");
      const got: Buffer[] = [];
      c.on("message", (m) => got.push(m));
      c.bind(0, "127.0.0.1");
      await once(c, "listening");
      for (const d of datagrams) {
        const n = got.length;
        c.send(d, port, "127.0.0.1");
        await until(() => got.length > n, 10_000, "a UDP reply");
      }
      c.close();
      return got;
    };
    const fromTwin = await ask(twinPort);
    expect(Buffer.concat(fromTwin).equals(Buffer.concat(datagrams))).toBe(true);
    await run(app, "node_modules/wasyncore/build/servers/udp-echo.host.wasm", [], async (port) => {
      const fromModule = await ask(port);
      expect(fromModule.map((b) => b.toString("hex"))).toEqual(fromTwin.map((b) => b.toString("hex")));
    }, "--listen-udp");
  } finally {
    twin.kill();
  }
}, 600_000);
