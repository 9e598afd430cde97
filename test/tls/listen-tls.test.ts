// The runner terminates TLS for a WebAssembly server (--listen-tls, config listenTls): the echo
// module, which knows nothing of TLS, answers Python's ssl and openssl s_client; bad flags exit 2
// naming the flag or file; a plaintext client to the TLS port does not disturb the others.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as net from "node:net";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliRun, until, root, type Cli } from "../sandbox/helpers.js";
import { makePki, python, pyClientContext, run, type Pki } from "./helpers.js";
import { WasmServer } from "../../host/sandbox/index.js";

const echo = `${root}build/servers/echo.host.wasm`;
let pki: Pki;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());

/** The port of the runner's "listening on HOST:PORT (TLS)" line. */
async function tlsPort(c: Cli): Promise<number> {
  const re = /listening on 127\.0\.0\.1:(\d+) \(TLS\)$/m;
  await until(() => re.test(c.stderr) || c.proc.exitCode !== null, 60_000, `the TLS listener (stderr: ${c.stderr})`);
  const m = re.exec(c.stderr);
  if (!m) throw new Error(`no TLS listener: ${c.stderr}`);
  return Number(m[1]);
}

/** Python's ssl client: one echo exchange, then the protocol version. */
function pyEcho(port: number, text: string): Promise<{ stdout: string; stderr: string }> {
  return python(`${pyClientContext(pki)}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${port})), server_hostname='localhost')
s.sendall(b'${text}')
got = b''
while len(got) < ${text.length}:
    got += s.recv(100)
print(got.decode(), s.version())
s.close()`);
}

describe("wasyncore run --listen-tls", () => {
  it("terminates TLS for the echo module: Python's ssl and openssl s_client get their bytes back; one listening line; exit 0 on SIGTERM", async () => {
    const c = cli(["run", echo, "--listen-tls", "127.0.0.1:0", "--cert", pki.serverCert, "--key", pki.serverKey]);
    try {
      const port = await tlsPort(c);
      expect(c.stderr).toBe(`wasyncore: echo.host.wasm listening on 127.0.0.1:${port} (TLS)\n`); // its plaintext side is not announced
      const r = await pyEcho(port, "hello through the runner TLS");
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("hello through the runner TLS TLSv1.3\n");
      // s_client ends at its stdin's EOF: the line goes first, EOF a second later
      const o = await run("sh", ["-c", `(echo ping from s_client; sleep 1) | openssl s_client -connect 127.0.0.1:${port} -CAfile '${pki.caCert}' -verify_return_error -quiet -no_ign_eof`], { ms: 15_000 });
      expect(o.stdout).toBe("ping from s_client\n");
      c.proc.kill("SIGTERM");
      expect((await c.exit).code).toBe(0);
    } finally {
      c.proc.kill("SIGKILL");
    }
  });

  it("a plaintext client on the TLS port is dropped; TLS clients before and after are served", async () => {
    const server = await WasmServer.start(echo, { listenTls: [{ listen: "127.0.0.1:0", cert: pki.serverCert, key: pki.serverKey }], stderr: 2 });
    try {
      expect(server.listening).toEqual([]); // the module's loopback side is the runner's business
      expect(server.listeningTls).toHaveLength(1);
      const port = server.listeningTls[0].port;
      expect((await pyEcho(port, "before")).stdout).toBe("before TLSv1.3\n");
      const plain = net.connect(port, "127.0.0.1");
      await once(plain, "connect");
      plain.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      let got = "";
      plain.on("data", (d: Buffer) => { got += d.toString("latin1"); });
      plain.on("error", () => {});
      await once(plain, "close");
      expect(got).not.toContain("GET /"); // nothing echoed: the module never saw it
      expect((await pyEcho(port, "after")).stdout).toBe("after TLSv1.3\n");
      expect(server.alive).toBe(true);
    } finally {
      server.close();
      await server.done;
    }
  });
});

describe("--listen-tls usage errors exit 2 naming the flag or the file", () => {
  it.each([
    ["no --cert", () => ["--listen-tls", "127.0.0.1:0", "--key", pki.serverKey], /--listen-tls needs --cert FILE/],
    ["no --key", () => ["--listen-tls", "127.0.0.1:0", "--cert", pki.serverCert], /--listen-tls needs --key FILE/],
    ["--cert alone", () => ["--listen", "127.0.0.1:0", "--cert", pki.serverCert], /--cert is only for --listen-tls/],
    ["a missing key file", () => ["--listen-tls", "127.0.0.1:0", "--cert", pki.serverCert, "--key", "/nonexistent/k.pem"], /--listen-tls\.key "\/nonexistent\/k\.pem": ENOENT/],
    ["a key of another certificate", () => ["--listen-tls", "127.0.0.1:0", "--cert", pki.serverCert, "--key", pki.clientKey], /--listen-tls: cert ".*server\.pem" and key ".*client\.key": .*key values mismatch/],
    ["a bad address", () => ["--listen-tls", "example.com:443", "--cert", pki.serverCert, "--key", pki.serverKey], /--listen-tls\.listen: host must be an IP address/],
  ])("%s", async (_what, args, message) => {
    const r = await cliRun(["run", echo, ...args()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("wasyncore serve with listenTls", () => {
  it("serves TLS from a config whose cert and key paths are relative to it", async () => {
    writeFileSync(join(pki.dir, "serve.json"), JSON.stringify({ modules: [{ name: "tls-echo", wasm: echo, listenTls: [{ listen: "127.0.0.1:0", cert: "server.pem", key: "server.key" }] }] }));
    const c = cli(["serve", join(pki.dir, "serve.json")]);
    try {
      const port = await tlsPort(c);
      expect((await pyEcho(port, "from serve")).stdout).toBe("from serve TLSv1.3\n");
      c.proc.kill("SIGTERM");
      expect((await c.exit).code).toBe(0);
    } finally {
      c.proc.kill("SIGKILL");
    }
  });

  it("names the config key of a bad entry", async () => {
    writeFileSync(join(pki.dir, "bad.json"), JSON.stringify({ modules: [{ wasm: echo, listenTls: [{ listen: "127.0.0.1:0", cert: "server.pem", key: "nope.key" }] }] }));
    const r = await cliRun(["serve", join(pki.dir, "bad.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/modules\[0\]\.listenTls\[0\]\.key ".*nope\.key": ENOENT/);
  });
});
