// The TLS examples run as a user runs them (compiled JS), with Python's ssl as the client.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { makePki, python, pyClientContext, type Pki } from "./helpers.js";

const root = new URL("../../", import.meta.url).pathname;
let pki: Pki;
const children: ChildProcess[] = [];
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => { for (const c of children.splice(0)) c.kill("SIGKILL"); });

/** Starts a compiled example; resolves with the port it printed. */
function start(example: string): Promise<number> {
  const child = spawn("node", [`build/examples/${example}.js`, pki.serverCert, pki.serverKey, "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`${example} did not start: ${text}`)), 15_000);
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = /127\.0\.0\.1:(\d+)/.exec(text);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
  });
}

describe("TLS examples", () => {
  it("examples/https-hello answers two requests on one kept-alive connection (Python's http.client)", async () => {
    const port = await start("https-hello");
    const r = await python(`${pyClientContext(pki)}
import http.client
c = http.client.HTTPSConnection('localhost', ${port}, context=ctx)
for path in ['/', '/again']:
    c.request('GET', path); res = c.getresponse()
    print(res.status, res.read().decode().strip(), c.sock.version())
c.close()`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("200 Hello, world! TLSv1.3\n200 Hello, world! TLSv1.3\n");
  });

  it("examples/tls-echo-server (CPython's asyncore TLS example) echoes lower-cased", async () => {
    const port = await start("tls-echo-server");
    const r = await python(`${pyClientContext(pki)}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${port})), server_hostname='localhost')
for line in [b'HELLO\\n', b'Mixed Case\\n']:
    s.sendall(line); print(s.recv(100).decode().strip())
s.close()`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello\nmixed case\n");
  });
});
