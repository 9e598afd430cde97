// The examples run as a user runs them: compiled JS, real loopback peers no one here wrote.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";

const root = new URL("../../", import.meta.url).pathname;
const children: ChildProcess[] = [];

function start(cmd: string, args: string[], opts: { cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return child;
}

/** Resolves with the first stdout line matching `re`. */
function waitForLine(child: ChildProcess, re: RegExp, ms = 10_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got ${JSON.stringify(text)}`)), ms);
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = re.exec(text);
      if (m) { clearTimeout(timer); child.stdout!.off("data", onData); child.stderr!.off("data", onData); resolve(m); }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
  });
}

/** Runs a command to completion, collecting stdout as bytes. */
function run(cmd: string, args: string[], ms = 15_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = start(cmd, args);
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error(`${cmd} ${args.join(" ")} timed out`)); }, ms);
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => (err += d));
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(out), stderr: err }); });
  });
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("examples/http-client (the seed's client)", () => {
  it("fetches a file from Python's http.server byte for byte", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasyncore-http-"));
    try {
      const file = randomBytes(300_000);
      writeFileSync(join(dir, "blob.bin"), file);
      const server = start("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir]);
      const [, port] = await waitForLine(server, /port (\d+)/);
      const res = await run("node", ["build/examples/http-client.js", `http://127.0.0.1:${port}/blob.bin`]);
      expect(res.code, res.stderr).toBe(0);
      const split = res.stdout.indexOf("\r\n\r\n");
      expect(split).toBeGreaterThan(0);
      expect(res.stdout.subarray(0, split).toString()).toMatch(/^HTTP\/1\.0 200 OK/);
      const body = res.stdout.subarray(split + 4);
      expect(body.length).toBe(file.length);
      expect(body.equals(file)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("examples/echo-server", () => {
  it("echoes what node:net clients send, on several connections at once", async () => {
    const server = start("node", ["build/examples/echo-server.js", "0"]);
    const [, port] = await waitForLine(server, /127\.0\.0\.1:(\d+)/);
    const payloads = Array.from({ length: 5 }, (_, i) => randomBytes(50_000 + i * 7_777));
    const echoed = await Promise.all(payloads.map((p) => new Promise<Buffer>((resolve, reject) => {
      const got: Buffer[] = [];
      let n = 0;
      const c = net.connect(Number(port), "127.0.0.1", () => c.write(p));
      c.on("data", (d) => { got.push(d); n += d.length; if (n >= p.length) c.end(); });
      c.on("close", () => resolve(Buffer.concat(got)));
      c.on("error", reject);
    })));
    echoed.forEach((e, i) => expect(e.equals(payloads[i])).toBe(true));
  });
});

describe("npm start (examples/demo)", () => {
  it("serves a page on loopback, fetches it with the seed's client, prints it and ends", async () => {
    const res = await run("node", ["build/examples/demo.js"]);
    expect(res.code, res.stderr).toBe(0);
    const text = res.stdout.toString();
    expect(text).toMatch(/HTTP\/1\.0 200 OK/);
    expect(text).toMatch(/Hello from wasyncore/);
    expect(text).toMatch(/0 channels left/);
  });
});
