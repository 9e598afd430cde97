// Every AssemblyScript example from the packed tarball alone (issue 19): each source in
// node_modules/wasyncore/examples/assembly (echo, http, smtp, idle-echo, relay, udp-echo) builds with `npx wasyncore build`
// in both flavours and serves one round trip under `npx wasyncore run` (the relay under --allow-connect, the
// UDP echo under --listen-udp).
import { it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import * as dgram from "node:dgram";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { installPacked } from "../examples/packed.js";
import { LineClient, npxRun } from "./wasmapi-helpers.js";
import { Upstream, session } from "./connect-helpers.js";

/** `npx wasyncore run WASM --listen 127.0.0.1:0 GRANTS -- ARGS` in `app`; `talk` gets the port it listens on. */
const run = (app: string, wasm: string, args: string[], talk: (port: number) => Promise<void>, grants: string[] = []): Promise<void> =>
  npxRun(app, wasm, ["--listen", "127.0.0.1:0", ...grants], args, talk);

it("every AssemblyScript example builds from node_modules/wasyncore/examples/assembly with `npx wasyncore build` and serves a round trip", async () => {
  const app = installPacked("wasmapi-examples");
  const build = (name: string, target: string): string => {
    const out = `out/${name}.${target}.wasm`;
    execFileSync("npx", ["--no", "wasyncore", "build", `node_modules/wasyncore/examples/assembly/${name}.ts`, "-o", out, "--target", target], { cwd: app, stdio: "pipe", timeout: 240_000 });
    expect(existsSync(join(app, out)), out).toBe(true);
    return out;
  };
  const ask = async (port: number, text: string, until: (got: string) => boolean): Promise<string> => {
    const c = await LineClient.open(port);
    c.sock.write(text);
    const end = Date.now() + 10_000;
    while (!until(Buffer.concat(c.raw).toString("latin1")) && !c.ended && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    c.close();
    return Buffer.concat(c.raw).toString("latin1");
  };
  const names = ["echo", "http", "smtp", "idle-echo", "relay", "udp-echo"];
  const wasm = Object.fromEntries(names.map((n) => { build(n, "wasix"); return [n, build(n, "host")]; }));
  await run(app, wasm.echo, [], async (port) => {
    expect(await ask(port, "hello from the tarball\n", (g) => g.length >= 23)).toBe("hello from the tarball\n");
  });
  await run(app, wasm.http, [], async (port) => {
    const got = await ask(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", (g) => g.endsWith("Hello, world!\n"));
    expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nHello, world!\n$/);
  });
  await run(app, wasm.smtp, ["--fqdn", "built.test"], async (port) => {
    const c = await LineClient.open(port);
    expect(await c.line()).toBe("220 built.test wasyncore smtp-sink");
    expect(await c.ask("QUIT")).toBe("221 Bye");
    c.close();
  });
  await run(app, wasm["idle-echo"], ["--idle", "0.3"], async (port) => {
    const c = await LineClient.open(port);
    c.sock.write("hello\n");
    expect(await c.rest()).toBe("hello\nidle timeout, bye\n");
  });
  await run(app, wasm["udp-echo"], [], async (port) => {
    const c = dgram.createSocket("udp4");
    const reply = once(c, "message");
    c.send("datagram from a tarball build", port, "127.0.0.1");
    expect(String((await reply)[0])).toBe("datagram from a tarball build");
    c.close();
  }, ["--listen-udp", "127.0.0.1:0"]);
  const up = await Upstream.start("127.0.0.1");
  try {
    await run(app, wasm.relay, ["--upstream", `127.0.0.1:${up.port}`], async (port) => {
      expect(await session("127.0.0.1", port, ["through the tarball", "QUIT"])).toBe("hello from upstream\r\nUP: THROUGH THE TARBALL\r\nbye\r\n");
    }, ["--allow-connect", `127.0.0.1:${up.port}`]);
  } finally {
    up.close();
  }
}, 600_000);
