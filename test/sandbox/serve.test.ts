// `wasyncore serve CONFIG.json`: several modules from one config, restart on failure with backoff,
// SIGTERM drains gracefully (exit 0), a module whose restarts ran out stops the rest (exit 1), a
// bad config is a usage error naming the key (exit 2).
import { describe, it, expect, beforeAll } from "vitest";
import * as net from "node:net";
import * as dgram from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, cliRun, listeningPort, echoOnce, root, until } from "./helpers.js";
import { fixture } from "../wasm-servers/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "wasyncore-serve-"));
const config = (name: string, modules: unknown[]): string => {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify({ modules }));
  return f;
};

beforeAll(async () => {
  copyFileSync(`${root}build/servers/echo.host.wasm`, join(dir, "echo.wasm"));
  copyFileSync(`${root}build/servers/http.host.wasm`, join(dir, "http.wasm"));
  copyFileSync(`${root}build/servers/udp-echo.host.wasm`, join(dir, "udp-echo.wasm"));
  copyFileSync(await fixture("faulty"), join(dir, "faulty.wasm"));
}, 180_000);

describe("config errors exit 2 and name the key", () => {
  it.each([
    [{ modules: [{ wasm: "echo.wasm", memoryMb: "big" }] }, /modules\[0\]\.memoryMb must be an integer in 1\.\.4096, got "big"/],
    [{ modules: [{ wasm: "echo.wasm", lisen: [] }] }, /modules\[0\]: unknown key "lisen"/],
    [{ modules: [{ name: "x" }] }, /modules\[0\]\.wasm must be the path of a \.wasm file/],
    [{ modules: [{ wasm: "echo.wasm", listen: ["nowhere"] }] }, /modules\[0\]\.listen: expected "HOST:PORT"/],
    [{ modules: [{ wasm: "echo.wasm", restart: "always" }] }, /modules\[0\]\.restart must be "no" or "on-failure", got "always"/],
    [{ modules: [{ wasm: "echo.wasm" }, { wasm: "echo.wasm" }] }, /modules\[1\]\.name "echo\.wasm" is used twice/],
    [{ modules: [{ wasm: "echo.wasm", listenUdp: ["udp.example:53"] }] }, /modules\[0\]\.listenUdp: host must be an IP address or localhost, got "udp\.example"/],
    [{ modules: [{ wasm: "echo.wasm", allowUdp: "127.0.0.1:53" }] }, /modules\[0\]\.allowUdp must be an array of strings/],
    [{ modules: [] }, /"modules" is empty/],
    [{ mods: [] }, /expected \{ "modules": \[ \.\.\. \] \}/],
    [{ modules: [{ wasm: "missing.wasm" }] }, /module missing\.wasm: cannot read .*missing\.wasm: ENOENT/],
  ])("%j", async (content, message) => {
    const f = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(content));
    const r = await cliRun(["serve", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("serving several modules", () => {
  it("serves each module on its grants and stops all gracefully on SIGTERM (exit 0), finishing open connections", async () => {
    const f = config("two.json", [
      { name: "echo", wasm: "echo.wasm", listen: ["127.0.0.1:0"] },
      { name: "web", wasm: "http.wasm", listen: ["127.0.0.1:0"], memoryMb: 32, cpuMs: 500 },
    ]);
    const c = cli(["serve", f]);
    const echoPort = await listeningPort(c, "echo");
    const webPort = await listeningPort(c, "web");
    expect(await echoOnce(echoPort, "one")).toBe("one");
    const res = await fetch(`http://127.0.0.1:${webPort}/`);
    expect(res.status).toBe(200);
    await res.text();
    // a connection open when SIGTERM arrives is still served; new ones are refused
    const open = net.connect(echoPort, "127.0.0.1");
    await once(open, "connect");
    // one round trip first: the module has accepted it (a connection still in the listener's backlog when the
    // listener closes is reset by the kernel, as for any server)
    const first = once(open, "data");
    open.write("before");
    expect(String((await first)[0])).toBe("before");
    c.proc.kill("SIGTERM");
    await until(() => /SIGTERM: stopping 2 modules gracefully/.test(c.stderr), 20_000, "the stop message");
    await until(() => c.stderr.includes("SIGTERM") && c.proc.exitCode === null, 1000);
    const back = once(open, "data");
    open.write("still served");
    expect(String((await back)[0])).toBe("still served");
    open.end();
    const { code } = await c.exit;
    expect(code).toBe(0);
    await expect(echoOnce(echoPort, "x")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  }, 60_000);

  it("restarts a failing module with backoff, then gives up: the others are stopped and the exit code is 1", async () => {
    const f = config("restart.json", [
      { name: "steady", wasm: "echo.wasm", listen: ["127.0.0.1:0"] },
      { name: "flaky", wasm: "faulty.wasm", listen: ["127.0.0.1:0"], restart: "on-failure", maxRestarts: 2 },
    ]);
    const c = cli(["serve", f]);
    const steadyPort = await listeningPort(c, "steady");
    // the flaky module aborts on "abort": twice restarted, the third failure ends the runner
    for (let i = 1; i <= 3; i++) {
      await until(() => (c.stderr.match(/flaky listening on/g) ?? []).length === i, 30_000, `flaky start ${i}: ${c.stderr}`);
      const port = Number([...c.stderr.matchAll(/flaky listening on .*:(\d+)/g)][i - 1][1]);
      await echoOnce(port, "abort").catch(() => "");
      expect(await echoOnce(steadyPort, `ping ${i}`)).toBe(`ping ${i}`);
    }
    const { code } = await c.exit;
    expect(code).toBe(1);
    expect(c.stderr).toMatch(/flaky restarts in 250 ms \(restart 1 of 2\)/);
    expect(c.stderr).toMatch(/flaky restarts in 500 ms \(restart 2 of 2\)/);
    expect(c.stderr).toMatch(/wasyncore: module flaky stopped: abort: faulty module asked to abort/);
    expect(c.stderr).toMatch(/wasyncore: flaky failed 3 times in a row: not restarted/);
  }, 120_000);

  it("serves a UDP module on its listenUdp grant beside a TCP one, and stops both on SIGTERM (exit 0)", async () => {
    const f = config("udp.json", [
      { name: "echo", wasm: "echo.wasm", listen: ["127.0.0.1:0"] },
      { name: "udp", wasm: "udp-echo.wasm", listenUdp: ["127.0.0.1:0"], allowUdp: [] },
    ]);
    const c = cli(["serve", f]);
    const re = /wasyncore: udp listening on 127\.0\.0\.1:(\d+) \(UDP\)/;
    await until(() => re.test(c.stderr) || c.proc.exitCode !== null, 30_000, `the UDP module to bind: ${c.stderr}`);
    const udpPort = Number(re.exec(c.stderr)?.[1]);
    const sock = dgram.createSocket("udp4");
    const reply = once(sock, "message");
    sock.send("datagram via serve", udpPort, "127.0.0.1");
    expect(String((await reply)[0])).toBe("datagram via serve");
    sock.close();
    expect(await echoOnce(await listeningPort(c, "echo"), "tcp too")).toBe("tcp too");
    c.proc.kill("SIGTERM");
    expect((await c.exit).code).toBe(0);
  }, 60_000);

  it("a module with restart 'no' that fails at start ends the runner with exit 1", async () => {
    const f = config("no-restart.json", [{ name: "dies", wasm: "faulty.wasm", listen: ["127.0.0.1:0"], args: ["--die", "main"] }]);
    const r = await cliRun(["serve", f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wasyncore: module dies stopped: abort: dying in main/);
    expect(r.stderr).toMatch(/dies failed: not restarted \(restart: no\)/);
  });
});
