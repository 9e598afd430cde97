// The `wasyncore` command as a user meets it: --help/--version, exit codes 0/1/2, flag names in
// errors, one "listening" line, no Node warnings, SIGTERM stops it gracefully (issue 14 bug 4).
import { describe, it, expect, beforeAll } from "vitest";
import * as net from "node:net";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import * as dgram from "node:dgram";
import { cli, cliRun, listeningPort, echoOnce, root, until } from "./helpers.js";
import { fixture } from "../wasm-servers/helpers.js";

const echo = `${root}build/servers/echo.host.wasm`;

describe("help and version", () => {
  it.each([[[]], [["run"]], [["serve"]], [["build"]]])("wasyncore %j --help prints usage on stdout and exits 0", async (sub) => {
    const r = await cliRun([...sub, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: wasyncore /);
    expect(r.stdout).toMatch(/exit codes|-o, --out/);
    expect(r.stderr).toBe("");
  });

  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { version: string };
    const r = await cliRun(["--version"]);
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe("usage errors exit 2 and name what was wrong", () => {
  it.each([
    [[], /missing command/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["run"], /wasyncore run: missing MODULE\.wasm/],
    [["run", echo, "--bogus"], /Unknown option '--bogus'/],
    [["run", echo, "--memory-mb", "abc"], /--memory-mb must be an integer in 1\.\.4096, got "abc"/],
    [["run", echo, "--memory-mb", "0"], /--memory-mb must be an integer in 1\.\.4096, got "0"/],
    [["run", echo, "--cpu-ms", "1.5"], /--cpu-ms must be an integer/],
    [["run", echo, "--listen", "nowhere"], /--listen: expected "HOST:PORT"/],
    [["run", echo, "--listen", "127.0.0.1:70000"], /--listen: port must be in 0\.\.65535, got 70000/],
    [["run", echo, "--allow-connect", "example.com:80"], /--allow-connect: host must be an IP address/],
    [["run", echo, "--listen-udp", "127.0.0.1"], /--listen-udp: expected "HOST:PORT"/],
    [["run", echo, "--allow-udp", "dns.example:53"], /--allow-udp: host must be an IP address/],
    [["run", "/nonexistent/x.wasm"], /cannot read \/nonexistent\/x\.wasm: ENOENT/],
    [["serve"], /wasyncore serve: missing CONFIG\.json/],
    [["build", "x.ts"], /wasyncore build: missing -o OUT\.wasm/],
  ])("wasyncore %j", async (args, message) => {
    const r = await cliRun(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/--help for usage/);
    expect(r.stdout).toBe("");
  });
});

describe("wasyncore run", () => {
  let faulty: string;
  beforeAll(async () => { faulty = await fixture("faulty"); }, 180_000);

  it("serves, says 'listening' once, prints no Node warning, and exits 0 on SIGTERM", async () => {
    const c = cli(["run", echo, "--listen", "127.0.0.1:0"]);
    const port = await listeningPort(c, "echo.host.wasm");
    expect(await echoOnce(port, "hello through the CLI")).toBe("hello through the CLI");
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    expect(code).toBe(0);
    expect(c.stderr.match(/listening/g)).toHaveLength(1);
    expect(c.stderr).toBe(`wasyncore: echo.host.wasm listening on 127.0.0.1:${port}\n`);
    expect(c.stderr + c.stdout).not.toMatch(/Warning/);
    expect(c.stdout).toBe("");
  });

  it("--listen-udp: a UDP module says where it is bound, answers datagrams, and exits 0 on SIGTERM", async () => {
    const c = cli(["run", `${root}build/servers/udp-echo.host.wasm`, "--listen-udp", "127.0.0.1:0"]);
    const re = /listening on 127\.0\.0\.1:(\d+) \(UDP\)/;
    await until(() => re.test(c.stderr) || c.proc.exitCode !== null, 20_000, `the UDP line: ${c.stderr}`);
    const port = Number(re.exec(c.stderr)?.[1]);
    expect(c.stderr).toBe(`wasyncore: udp-echo.host.wasm listening on 127.0.0.1:${port} (UDP)\n`);
    const sock = dgram.createSocket("udp4");
    const reply = once(sock, "message");
    sock.send("hello through the CLI", port, "127.0.0.1");
    expect(String((await reply)[0])).toBe("hello through the CLI");
    sock.close();
    c.proc.kill("SIGTERM");
    expect((await c.exit).code).toBe(0);
  });

  it("run --help lists the UDP grants", async () => {
    const r = await cliRun(["run", "--help"]);
    expect(r.stdout).toMatch(/--listen-udp HOST:PORT/);
    expect(r.stdout).toMatch(/--allow-udp HOST:PORT/);
    expect(r.stdout).toMatch(/reply to any address that sent it a datagram in\s+the last 30 s/);
  });

  it("Ctrl-C (SIGINT to the whole process group) stops it gracefully: exit 0, not a module failure", async () => {
    const c = cli(["run", echo, "--listen", "127.0.0.1:0"], { detached: true });
    const port = await listeningPort(c, "echo.host.wasm");
    expect(await echoOnce(port, "before")).toBe("before");
    process.kill(-c.proc.pid!, "SIGINT");
    const { code } = await c.exit;
    expect(code).toBe(0);
    expect(c.stderr).not.toMatch(/stopped|died/);
  });

  it("leaves no module process behind when the runner itself is killed", async () => {
    const c = cli(["run", echo, "--listen", "127.0.0.1:0"]);
    const port = await listeningPort(c, "echo.host.wasm");
    const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(c.proc.pid)]).toString().trim().split(/\s+/).map(Number);
    expect(children).toHaveLength(1);
    c.proc.kill("SIGKILL");
    await c.exit;
    const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
    await until(() => !alive(children[0]), 10_000, "the module's process to end");
    await expect(echoOnce(port, "x")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("exits 1 naming the module and EADDRINUSE when its address is taken", async () => {
    const taken = net.createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const r = await cliRun(["run", echo, "--listen", `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`wasyncore: module echo\\.host\\.wasm stopped: could not listen 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      expect(r.stderr).not.toMatch(/listening on/);
    } finally {
      taken.close();
    }
  });

  it("exits 1 when the module traps in main()", async () => {
    const r = await cliRun(["run", faulty, "--listen", "127.0.0.1:0", "--name", "dies.wasm", "--", "--die", "main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^wasyncore: module dies\.wasm stopped: abort: dying in main/m);
  });

  it("exits 1 when a handler traps while serving", async () => {
    const c = cli(["run", faulty, "--listen", "127.0.0.1:0"]);
    const port = await listeningPort(c, "faulty.host.wasm");
    await echoOnce(port, "abort").catch(() => "");
    const { code } = await c.exit;
    expect(code).toBe(1);
    expect(c.stderr).toMatch(/wasyncore: module faulty\.host\.wasm stopped: abort: faulty module asked to abort/);
  });

  it("refuses a module that is not a host-flavour server with exit 1 and the reason", async () => {
    const r = await cliRun(["run", `${root}build/servers/echo.wasix.wasm`, "--listen", "127.0.0.1:0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/module echo\.wasix\.wasm stopped: refused at load: .*WASIX-flavour/);
  });
});
