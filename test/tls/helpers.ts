// Shared by the TLS tests: a throw-away PKI made with `openssl` at test time (nothing with a key
// is committed), Python's ssl and `openssl s_client` as peers, and a loop runner.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChannelMap, closeAll, loop } from "../../host/index.js";

/** Files of the test PKI (PEM paths). */
export interface Pki {
  dir: string;
  caCert: string;
  /** localhost / 127.0.0.1, signed by the CA. */
  serverCert: string; serverKey: string;
  /** other.test, signed by the CA (SNI). */
  otherCert: string; otherKey: string;
  /** A client certificate signed by the CA. */
  clientCert: string; clientKey: string;
  /** A self-signed localhost certificate nobody trusts. */
  rogueCert: string; rogueKey: string;
  /** serverKey encrypted with the password 'somepass'. */
  serverKeyEncrypted: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Makes a CA and the certificates the tests use, with EC keys (fast), in a fresh temp dir. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "wasyncore-tls-"));
  const key = (name: string): void => openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`], dir);
  const selfSigned = (name: string, cn: string, ext: string[]): void => {
    key(name);
    openssl(["req", "-x509", "-new", "-key", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${cn}`, ...ext], dir);
  };
  const signed = (name: string, cn: string, ext: string): void => {
    key(name);
    openssl(["req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", `/O=wasyncore tests/CN=${cn}`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`], dir);
  };
  selfSigned("ca", "wasyncore test CA", ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  signed("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n");
  signed("other", "other.test", "subjectAltName=DNS:other.test\nextendedKeyUsage=serverAuth\n");
  signed("client", "test client", "extendedKeyUsage=clientAuth\n");
  selfSigned("rogue", "localhost", ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
  openssl(["ec", "-in", "server.key", "-out", "server.enc.key", "-aes256", "-passout", "pass:somepass"], dir);
  const p = (f: string): string => join(dir, f);
  return {
    dir, caCert: p("ca.pem"), serverCert: p("server.pem"), serverKey: p("server.key"), otherCert: p("other.pem"), otherKey: p("other.key"),
    clientCert: p("client.pem"), clientKey: p("client.key"), rogueCert: p("rogue.pem"), rogueKey: p("rogue.key"),
    serverKeyEncrypted: p("server.enc.key"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** What a peer process printed and how it ended. */
export interface PeerResult { code: number | null; stdout: string; stderr: string; }

/** Runs a child process to its end (killed after `ms`), collecting its output; `input` goes to its stdin. */
export function run(cmd: string, args: string[], { input, ms = 20_000 }: { input?: string; ms?: number } = {}): Promise<PeerResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    p.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill("SIGKILL"), ms);
    p.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.on("error", () => {});
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

/** Runs a Python 3 script (Python's own ssl module is the peer). */
export function python(script: string, ms?: number): Promise<PeerResult> {
  return run("python3", ["-c", script], { ms });
}

/** Python source that builds a client context trusting the test CA (with an optional client certificate). */
export function pyClientContext(pki: Pki, { cert = false, alpn, verify = true }: { cert?: boolean; alpn?: string[]; verify?: boolean } = {}): string {
  return [
    "import socket, ssl, sys",
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)",
    verify ? `ctx.load_verify_locations(${JSON.stringify(pki.caCert)})` : "ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE",
    cert ? `ctx.load_cert_chain(${JSON.stringify(pki.clientCert)}, ${JSON.stringify(pki.clientKey)})` : "",
    alpn ? `ctx.set_alpn_protocols(${JSON.stringify(alpn)})` : "",
  ].join("\n");
}

/** The loop over `map` running in the background; stop() closes every channel and waits for it. */
export function runLoop(map: ChannelMap, usePoll: boolean): { done: Promise<void>; stop(): Promise<void> } {
  const done = loop({ map, timeout: 1, usePoll });
  done.catch(() => {});
  return { done, async stop() { closeAll({ map, ignoreAll: true }); await done; } };
}

/** Resolves once `cond()` holds; rejects naming `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** select and poll2, for describe.each. */
export const MODES = [
  { mode: "select", usePoll: false },
  { mode: "poll2", usePoll: true },
];

/** A Python server process: the port it printed first, and its result once it ends. */
export function pythonServer(script: string, ms = 20_000): Promise<{ port: number; result: Promise<PeerResult> }> {
  return new Promise((resolve, reject) => {
    const p = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", announced = false;
    const timer = setTimeout(() => p.kill("SIGKILL"), ms);
    const result = new Promise<PeerResult>((done) => p.on("close", (code) => { clearTimeout(timer); done({ code, stdout, stderr }); }));
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /^PORT (\d+)\n/.exec(stdout);
      if (!announced && m) { announced = true; resolve({ port: Number(m[1]), result }); }
    });
    p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    void result.then((r) => { if (!announced) reject(new Error(`python server ended before listening: ${r.stderr}`)); });
  });
}

/** Python source: a listening socket on 127.0.0.1 whose port is printed as "PORT n". */
export const PY_LISTEN = [
  "import socket, ssl, sys",
  "ls = socket.socket(); ls.bind(('127.0.0.1', 0)); ls.listen(5)",
  "print('PORT', ls.getsockname()[1], flush=True)",
].join("\n");
