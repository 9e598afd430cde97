// Outbound connects from a module (issue 19): the relay example (examples/assembly/relay.ts) connects to
// its upstream under --allow-connect and answers byte for byte what its TypeScript twin
// (examples/relay-server.ts) answers — over IPv4 and IPv6, in select and poll2 order; a granted but
// closed port reaches the module's handleError as ECONNREFUSED; an address outside the grant is EACCES
// inside the module and never reaches the network; `wasyncore serve` with "allowConnect" does the same.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WasmServer } from "../../host/sandbox/index.js";
import { built, devNull, pattern, until, root } from "./helpers.js";
import { LineClient, transcript, echoed } from "./wasmapi-helpers.js";
import { Upstream, echoUpstream, closedPort, hp, session } from "./connect-helpers.js";
import { cli, listeningPort } from "../sandbox/helpers.js";

const twin = fileURLToPath(new URL("../../build/examples/relay-server.js", import.meta.url));
const relayWasm = built("relay", "host");

/** Starts the TypeScript twin; resolves with its port. */
async function startTwin(listen: string, upstream: string, usePoll: boolean): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [twin, listen, upstream, ...(usePoll ? ["--poll"] : [])], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => { out += d; });
  const re = /listening on \[?[^\]]*\]?:(\d+),/;
  await until(() => re.test(out) || child.exitCode !== null, 20_000, `the TypeScript relay to listen (${out})`);
  return { port: Number(re.exec(out)![1]), child };
}

const SCRIPT = ["abc", "Hello, relay", "x".repeat(3000), "QUIT"];

describe.each([
  ["IPv4", "127.0.0.1", false],
  ["IPv4", "127.0.0.1", true],
  ["IPv6", "::1", false],
  ["IPv6", "::1", true],
] as const)("relay over %s (%s), poll2 order: %s", (_family, host, usePoll) => {
  let up: Upstream;
  let mod: WasmServer;
  let ts: { port: number; child: ChildProcess };
  beforeAll(async () => {
    up = await Upstream.start(host);
    const upstream = hp(host, up.port);
    mod = await WasmServer.start(relayWasm, {
      listen: [hp(host, 0)], allowConnect: [upstream], args: ["--upstream", upstream, ...(usePoll ? ["--poll"] : [])], stdout: devNull(),
    });
    ts = await startTwin(hp(host, 0), upstream, usePoll);
  }, 60_000);
  afterAll(() => { mod?.close(); ts?.child.kill(); up?.close(); });

  it("answers what the TypeScript relay answers, byte for byte, and closes both sides", async () => {
    const before = up.ends;
    const expected = await session(host, ts.port, SCRIPT);
    expect(expected.startsWith("hello from upstream\r\nUP: ABC\r\n")).toBe(true);
    expect(expected.endsWith(`UP: ${"X".repeat(3000)}\r\nbye\r\n`)).toBe(true);
    const got = await session(host, mod.listening[0].port, SCRIPT);
    expect(got).toBe(expected);
    // the upstream saw both relays' connections end (the module closed its side after the upstream's FIN)
    await until(() => up.ends - before >= 2, 10_000, "the upstream to see both connections end");
    expect(mod.denied).toEqual([]);
  }, 30_000);

  it("line by line: each reply before the next line; a client that closes first closes the upstream connection", async () => {
    const before = up.ends;
    const c = await LineClient.open(mod.listening[0].port, host);
    expect(await c.line()).toBe("hello from upstream");
    expect(await c.ask("one")).toBe("UP: ONE");
    expect(await c.ask("two")).toBe("UP: TWO");
    c.sock.end();
    await until(() => up.ends > before, 10_000, "the upstream to see the relayed connection end");
    expect(await c.rest()).toBe("");
  }, 30_000);

  it("an unreachable upstream (granted, nobody listening) reaches handleError as ECONNREFUSED, as in TypeScript", async () => {
    const dead = hp(host, await closedPort(host));
    const m = await WasmServer.start(relayWasm, {
      listen: [hp(host, 0)], allowConnect: [dead], args: ["--upstream", dead, ...(usePoll ? ["--poll"] : [])], stdout: devNull(),
    });
    const t = await startTwin(hp(host, 0), dead, usePoll);
    try {
      const expected = await session(host, t.port, ["never relayed"]);
      expect(expected).toBe(`relay: cannot reach ${dead}: ECONNREFUSED\r\n`);
      expect(await session(host, m.listening[0].port, ["never relayed"])).toBe(expected);
      expect(m.alive).toBe(true);
    } finally {
      m.close();
      t.child.kill();
    }
  }, 30_000);
});

describe("relay: bulk data and grants", () => {
  it("copies 4 MiB both ways intact through a module (flow control on both sides)", async () => {
    const echo = await echoUpstream("127.0.0.1");
    const upstream = hp("127.0.0.1", echo.port);
    const mod = await WasmServer.start(relayWasm, { listen: ["127.0.0.1:0"], allowConnect: [upstream], args: ["--upstream", upstream], stdout: devNull() });
    try {
      const payload = pattern(4 << 20, 3);
      expect((await echoed(mod.listening[0].port, "127.0.0.1", payload)).equals(payload)).toBe(true);
    } finally {
      mod.close();
      echo.close();
    }
  }, 60_000);

  it("an upstream outside the grant: EACCES inside the module, and the upstream sees no connection", async () => {
    for (const host of ["127.0.0.1", "::1"]) {
      const up = await Upstream.start(host);
      const upstream = hp(host, up.port);
      // granted: a different port on the same host; the module asks for the upstream's
      const mod = await WasmServer.start(relayWasm, {
        listen: [hp(host, 0)], allowConnect: [hp(host, up.port === 1 ? 2 : 1)], args: ["--upstream", upstream], stdout: devNull(),
      });
      try {
        expect(await session(host, mod.listening[0].port, ["hello?"])).toBe(`relay: cannot reach ${upstream}: EACCES\r\n`);
        await new Promise((r) => setTimeout(r, 200)); // time for a leaked connect to arrive
        expect(up.connections).toBe(0);
        expect(mod.denied).toEqual([`connect ${host}:${up.port}`]);
        expect(mod.alive).toBe(true);
      } finally {
        mod.close();
        up.close();
      }
    }
  }, 30_000);

  it("`wasyncore serve CONFIG.json` with \"allowConnect\": relays to the granted upstream, EACCES for the other", async () => {
    const up = await Upstream.start("127.0.0.1");
    const other = await Upstream.start("127.0.0.1");
    const dir = mkdtempSync(join(tmpdir(), "wasmapi-connect-"));
    const config = join(dir, "relays.json");
    writeFileSync(config, JSON.stringify({
      modules: [
        { name: "granted", wasm: relayWasm, listen: ["127.0.0.1:0"], allowConnect: [`127.0.0.1:${up.port}`], args: ["--upstream", `127.0.0.1:${up.port}`] },
        { name: "denied", wasm: relayWasm, listen: ["127.0.0.1:0"], allowConnect: [`127.0.0.1:${up.port}`], args: ["--upstream", `127.0.0.1:${other.port}`] },
      ],
    }));
    const run = cli(["serve", config], { cwd: root });
    try {
      const granted = await listeningPort(run, "granted");
      const denied = await listeningPort(run, "denied");
      expect(await session("127.0.0.1", granted, ["via config", "QUIT"])).toBe("hello from upstream\r\nUP: VIA CONFIG\r\nbye\r\n");
      expect(await session("127.0.0.1", denied, ["via config"])).toBe(`relay: cannot reach 127.0.0.1:${other.port}: EACCES\r\n`);
      expect(other.connections).toBe(0);
      run.proc.kill("SIGTERM");
      expect((await run.exit).code).toBe(0);
    } finally {
      run.proc.kill("SIGKILL");
      up.close();
      other.close();
    }
  }, 60_000);
});
