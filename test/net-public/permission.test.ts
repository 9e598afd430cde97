// A real server under Node's permission model (`--experimental-permission` on Node 20, `--permission`
// later), where process.binding is refused: the `net` backend falls back to node:net/node:dgram
// (issue 14, "The package"). The child uses the built package (build/host/, made by `npm run build`).
import { describe, it, expect } from "vitest";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { missing } from "../support/index.js";

const lib = fileURLToPath(new URL("../../build/host/index.js", import.meta.url));
const PERMISSION = process.allowedNodeEnvironmentFlags.has("--permission") ? "--permission" : "--experimental-permission";

function child(source: string, env: Record<string, string | undefined>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    const args = [PERMISSION, "--allow-fs-read=*", "--no-warnings", "--input-type=module", "-e", source];
    const c = spawn(process.execPath, args, { env: e as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    let out = "", err = "";
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (err += d));
    c.on("exit", (code) => resolve({ code, out, err }));
  });
}

// An echo server and a client over TCP (IPv4 and IPv6) and a UDP echo, one map, in the child.
const program = `
const { AF_INET, AF_INET6, SOCK_DGRAM, SOL_SOCKET, SO_REUSEPORT, ChannelMap, Dispatcher, DispatcherWithSend, Socket, closeAll, loop, loopStats } = await import(${JSON.stringify(lib)});
let refused = "no";
try { process.binding("tcp_wrap"); } catch (err) { refused = err.code; }
const map = new ChannelMap();
const results = {};
class Echo extends DispatcherWithSend {
  handleRead() { const d = this.recv(65536); if (d.length === 0) this.close(); else this.send(d); }
  handleClose() { this.close(); }
}
class Server extends Dispatcher {
  handleAccepted(sock) { new Echo(sock, map); }
}
class Client extends DispatcherWithSend {
  constructor(name, af, addr, payload) { super(null, map); this.name = name; this.payload = payload; this.got = []; this.createSocket(af); this.connect(addr); }
  handleConnect() { this.send(this.payload); }
  handleRead() {
    const d = this.recv(65536);
    if (d.length > 0) this.got.push(d);
    if (Buffer.concat(this.got).length === this.payload.length || d.length === 0) { results[this.name] = Buffer.concat(this.got).equals(this.payload); this.close(); }
  }
}
for (const [name, af, host] of [["tcp4", AF_INET, "127.0.0.1"], ["tcp6", AF_INET6, "::1"]]) {
  const s = new Server(null, map);
  s.createSocket(af);
  s.setReuseAddr();
  s.bind([host, 0]);
  s.listen(5);
  new Client(name, af, s.socket.getsockname(), Buffer.alloc(100000, name));
}
const udpServer = new Socket(AF_INET, SOCK_DGRAM);
udpServer.bind(["127.0.0.1", 0]);
const udpClient = new Socket(AF_INET, SOCK_DGRAM);
udpClient.sendto(Buffer.from("ping"), udpServer.getsockname());
const deadline = Date.now() + 15000;
while (Object.keys(results).length < 2 && Date.now() < deadline) await loop({ timeout: 0.05, count: 1, map });
const retry = async (fn) => {
  for (let i = 0; i < 500; i++) { try { return fn(); } catch { await new Promise((r) => setTimeout(r, 10)); } }
};
await retry(() => { const [d, from] = udpServer.recvfrom(100); udpServer.sendto(d, from); });
results.udp = await retry(() => udpClient.recvfrom(100)[0].toString());
const probe = new Socket(AF_INET);
try { probe.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1); results.reusePort = "set"; } catch (err) { results.reusePort = err.code; }
probe.close();
const { backend, backendReason } = loopStats({ map });
closeAll({ map });
udpServer.close();
udpClient.close();
console.log(JSON.stringify({ refused, results, backend, backendReason }));
`;

describe.skipIf(missing("the built host (build/host)", !existsSync(lib)))(`a server under ${PERMISSION} --allow-fs-read=*`, () => {
  it("serves TCP (IPv4, IPv6) and UDP over the public API, and loopStats() says why", async () => {
    const r = await child(program, { WASYNCORE_BACKEND: undefined, WASYNCORE_NET_PUBLIC: undefined, NODE_DEBUG: undefined });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out);
    expect(got.refused).toBe("ERR_ACCESS_DENIED");
    // SO_REUSEPORT: net.Server's listen({ reusePort }) from Node 22.12, else ENOPROTOOPT (never the permission error)
    const [major, minor] = process.versions.node.split(".").map(Number);
    const reusePort = major > 22 || (major === 22 && minor >= 12) ? "set" : "ENOPROTOOPT";
    expect(got.results).toEqual({ tcp4: true, tcp6: true, udp: "ping", reusePort });
    expect(got.backend).toBe("net");
    expect(got.backendReason).toMatch(/public node:net\/node:dgram API, slower than its libuv handles \(process\.binding is refused by Node's permission model\)$/);
  });

  it("NODE_DEBUG=wasyncore says the sockets use the public API, and why", async () => {
    const r = await child(program, { WASYNCORE_BACKEND: "net", WASYNCORE_NET_PUBLIC: undefined, NODE_DEBUG: "wasyncore" });
    expect(r.code).toBe(0);
    const lines = r.err.split("\n").filter((l) => /^WASYNCORE \d+: sockets use/.test(l));
    expect(lines).toEqual([expect.stringMatching(/: sockets use the net backend over Node's public node:net\/node:dgram API \(process\.binding is refused by Node's permission model\)$/)]);
  });
});

// FileDispatcher on the child's terminal (Python's pty gives it one): TTYs too need a handle Node
// makes through process.binding('tty_wrap') on the libuv path; here tty.ReadStream makes it.
let hasPty = true;
try { execFileSync("python3", ["-c", "import pty"], { stdio: "ignore" }); } catch { hasPty = false; }
const ttyChild = `
import { FileDispatcher, ChannelMap, loop } from ${JSON.stringify(lib)};
const map = new ChannelMap();
class LineReader extends FileDispatcher {
  writable() { return false; }
  handleRead() { process.stdout.write("got " + JSON.stringify(this.recv(100).toString()) + "\\n"); this.close(); }
}
new LineReader(0, map);
process.stdout.write("ready\\n");
await loop({ map, timeout: 1 });
process.stdout.write("done\\n");
`;
const ptyDriver = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
deadline = time.time() + 15
sent = False
while time.time() < deadline and b"done" not in out:
    try:
        d = os.read(fd, 1000)
    except OSError:
        break
    if not d:
        break
    out += d
    if b"ready" in out and not sent:
        os.write(fd, b"hello\\n")
        sent = True
os.waitpid(pid, 0)
sys.stdout.write(out.decode())
`;

describe.skipIf(missing("python3 with pty", !hasPty) || missing("the built host (build/host)", !existsSync(lib)))(`a terminal under ${PERMISSION}`, () => {
  it("FileDispatcher reads a line typed on the child's terminal", async () => {
    const argv = [process.execPath, PERMISSION, "--allow-fs-read=*", "--no-warnings", "--input-type=module", "-e", ttyChild];
    const env: Record<string, string | undefined> = { ...process.env, WASYNCORE_NET_PUBLIC: undefined, WASYNCORE_BACKEND: undefined };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const py = spawn("python3", ["-c", ptyDriver, ...argv], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "inherit"], timeout: 30_000 });
    let out = "";
    py.stdout!.on("data", (d) => (out += d));
    const status = await new Promise((r) => py.on("exit", r));
    expect(status).toBe(0);
    expect(out).toContain('got "hello\\n"');
    expect(out).toContain("done");
  });
});
