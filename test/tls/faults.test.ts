// TLS faults: garbage instead of a ClientHello, plaintext HTTP to the TLS port, a peer that stops
// or resets mid-handshake, untrusted certificates both ways, a name mismatch. Each reaches the
// channel as a clear SSLError (handleError) or a close (handleClose), the channel closes, a
// bystander's echo stays intact, and a churn of good and bad connections leaks no channel,
// descriptor or handle.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import * as net from "node:net";
import * as tls from "node:tls";
import { Duplex } from "node:stream";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import {
  ChannelMap, Dispatcher, DispatcherWithSend, Socket, SocketError, closeAll, loopStats, AF_INET,
  SSLContext, SSLError, SSLEOFError, SSLCertVerificationError, PROTOCOL_TLS_SERVER, PROTOCOL_TLS_CLIENT, CERT_REQUIRED,
  type Address,
} from "../../host/index.js";
import { makePki, python, pyClientContext, runLoop, waitFor, MODES, type Pki } from "./helpers.js";
import { readdirSync } from "node:fs";
import { getEngine } from "../../host/core/engine.js";

let pki: Pki;
let map: ChannelMap;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => closeAll({ map, ignoreAll: true }));

class Handler extends DispatcherWithSend {
  events: string[] = [];
  errors: unknown[] = [];
  received = 0;
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length === 0) return;
    this.received += d.length;
    this.send(d);
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
    this.events.push("error");
    this.handleClose();
  }
  override handleClose(): void {
    this.events.push("close");
    this.close();
  }
}

class Server extends Dispatcher {
  handlers: Handler[] = [];
  port: number;
  constructor(m: ChannelMap, readonly ctx: SSLContext) {
    super(undefined, m);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(128);
    this.port = (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket): void {
    this.handlers.push(new Handler(this.ctx.wrapSocket(sock, { serverSide: true }), this._map));
  }
}

function serverContext(cert = pki.serverCert, key = pki.serverKey): SSLContext {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  ctx.loadCertChain(cert, key);
  return ctx;
}

/** A real ClientHello's bytes (Node's client over a duplex that only records). */
async function clientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const d = new Duplex({ read() {}, write(chunk: Buffer, _e, cb) { resolve(Buffer.from(chunk)); cb(); } });
    const t = tls.connect({ socket: d, servername: "localhost", rejectUnauthorized: false });
    t.on("error", () => {});
    setTimeout(() => t.destroy(), 100);
  });
}

/** A raw TCP client: sends `bytes`, then ends, resets or waits; resolves when the server closed it. */
function rawClient(port: number, bytes: Buffer, then: "end" | "reset" | "wait"): Promise<{ got: Buffer; error: string | null }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    let error: string | null = null;
    s.on("data", (d: Buffer) => got.push(d));
    s.on("error", (e: NodeJS.ErrnoException) => { error = e.code ?? String(e); });
    s.on("close", () => resolve({ got: Buffer.concat(got), error }));
    s.on("connect", () => {
      s.write(bytes, () => {
        if (then === "end") s.end();
        else if (then === "reset") setTimeout(() => s.resetAndDestroy(), 20);
      });
    });
  });
}

/** A node:tls echo client that keeps a byte stream going: the bystander whose bytes must stay intact. */
function bystander(port: number, ca: string, total: number): Promise<boolean> {
  return new Promise((resolve) => {
    const payload = randomBytes(total);
    const c = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: readFileSync(ca) });
    const got: Buffer[] = [];
    let n = 0;
    c.on("secureConnect", () => c.write(payload));
    c.on("data", (d: Buffer) => { got.push(d); n += d.length; if (n >= total) c.end(); });
    c.on("error", () => resolve(false));
    c.on("close", () => resolve(Buffer.concat(got).equals(payload)));
  });
}

describe.each(MODES)("TLS faults ($mode)", ({ usePoll }) => {
  it("garbage, plaintext HTTP, a half ClientHello then EOF or reset: clear errors, channels closed, a bystander intact", async () => {
    map = new ChannelMap();
    const server = new Server(map, serverContext());
    const loopRun = runLoop(map, usePoll);
    const hello = await clientHello();
    const by = bystander(server.port, pki.caCert, 256 * 1024);
    const results = await Promise.all([
      rawClient(server.port, Buffer.from("\x00\x01garbage instead of a ClientHello\r\n"), "wait"),
      rawClient(server.port, Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), "wait"),
      rawClient(server.port, hello.subarray(0, hello.length >> 1), "end"),
      rawClient(server.port, hello.subarray(0, hello.length >> 1), "reset"),
    ]);
    expect(await by).toBe(true);
    for (const r of results) expect(r.got.length).toBeLessThan(64); // at most an alert, never data
    await waitFor(() => server.handlers.length === 5 && server.handlers.every((h) => h.isClosed() || h.received > 0), "every fault channel to close");
    const faults = server.handlers.filter((h) => h.received === 0);
    expect(faults).toHaveLength(4);
    const why = faults.map((h) => {
      const e = h.errors[0];
      return e instanceof SSLError ? `${e.constructor.name} ${e.code} ${e.reason ?? ""}`.trim() : e instanceof SocketError ? `SocketError ${e.code}` : h.events.join(",");
    }).sort();
    // What each peer did decides the report: no handler crashed, none saw plaintext.
    expect(why).toContain("SSLError SSL_ERROR_SSL HTTP_REQUEST");
    expect(why.filter((w) => /^SSLError SSL_ERROR_SSL (WRONG_VERSION_NUMBER|UNSUPPORTED_PROTOCOL|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE)$/.test(w))).toHaveLength(1);
    expect(why).toContain("SSLEOFError SSL_ERROR_EOF");
    expect(why.filter((w) => w === "SSLEOFError SSL_ERROR_EOF" || w === "SocketError ECONNRESET" || w === "close")).toHaveLength(2);
    for (const h of faults) expect(h.isClosed()).toBe(true);
    for (const h of faults) expect(h.events[h.events.length - 1]).toBe("close");
    await loopRun.stop();
  });

  it("a client meets an untrusted certificate and a name mismatch: SSLCertVerificationError with Python's codes", async () => {
    map = new ChannelMap();
    const rogue = new Server(map, serverContext(pki.rogueCert, pki.rogueKey));
    const good = new Server(map, serverContext());
    const loopRun = runLoop(map, usePoll);
    const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
    ctx.loadVerifyLocations(pki.caCert);
    const outcomes: { events: string[]; err: unknown }[] = [];
    class Client extends Dispatcher {
      out = { events: [] as string[], err: null as unknown };
      constructor(addr: Address, name: string) {
        super(undefined, map);
        this.setSocket(ctx.wrapSocket(new Socket(AF_INET), { serverHostname: name }));
        this.connect(addr);
        outcomes.push(this.out);
      }
      override handleConnect(): void { this.out.events.push("connect"); }
      override handleWrite(): void { this.out.events.push("write"); this.close(); }
      override handleError(err: unknown): void { this.out.err = err; this.out.events.push("error"); this.handleClose(); }
      override handleClose(): void { this.out.events.push("close"); this.close(); }
    }
    new Client(["127.0.0.1", rogue.port], "localhost");
    new Client(["127.0.0.1", good.port], "other.test");
    await waitFor(() => outcomes.every((o) => o.events.includes("close")), "both clients to close");
    const [untrusted, mismatch] = outcomes.map((o) => o.err as SSLCertVerificationError);
    expect(outcomes.map((o) => o.events)).toEqual([["error", "close"], ["error", "close"]]);
    expect(untrusted).toBeInstanceOf(SSLCertVerificationError);
    expect([untrusted.verifyCode, untrusted.verifyMessage, untrusted.reason, untrusted.errno]).toEqual([18, "self-signed certificate", "CERTIFICATE_VERIFY_FAILED", 1]);
    expect(mismatch).toBeInstanceOf(SSLCertVerificationError);
    expect([mismatch.verifyCode, mismatch.verifyMessage]).toEqual([62, "Hostname mismatch, certificate is not valid for 'other.test'."]);
    await loopRun.stop();
  });

  it("a server under CERT_REQUIRED refuses a client certificate it does not trust", async () => {
    map = new ChannelMap();
    const ctx = serverContext();
    ctx.verifyMode = CERT_REQUIRED;
    ctx.loadVerifyLocations(pki.caCert);
    const server = new Server(map, ctx);
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki)}
ctx.load_cert_chain(${JSON.stringify(pki.rogueCert)}, ${JSON.stringify(pki.rogueKey)})
try:
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
    s.sendall(b'rogue'); print('got', s.recv(100))
except (ssl.SSLError, OSError) as e:
    print('refused', type(e).__name__)`);
    expect(r.stdout).toMatch(/^(refused \w+|got b'')\n$/); // TLS 1.3: the client's handshake ends before the server checks it
    await waitFor(() => server.handlers[0]?.isClosed(), "the channel to close");
    const err = server.handlers[0].errors[0] as SSLCertVerificationError;
    expect(err).toBeInstanceOf(SSLCertVerificationError);
    expect(err.verifyCode).toBe(18);
    expect(server.handlers[0].received).toBe(0);
    await loopRun.stop();
  });

  it("churn: 120 good handshakes and 120 faults leave no channel, descriptor or handle behind", async () => {
    map = new ChannelMap();
    const server = new Server(map, serverContext());
    const loopRun = runLoop(map, usePoll);
    const hello = await clientHello();
    const fds = (): number => readdirSync("/proc/self/fd").length;
    const handles = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    const liveChannels = (): number => getEngine().stat("channels");
    const before = { fds: fds(), channels: liveChannels(), handles: handles(), chunks: loopStats({ map }).chunksInUse };
    const ca = readFileSync(pki.caCert);
    const good = (): Promise<boolean> => new Promise((resolve) => {
      const c = tls.connect({ port: server.port, host: "127.0.0.1", servername: "localhost", ca });
      c.on("secureConnect", () => c.write("ping"));
      c.on("data", () => c.end());
      c.on("error", () => resolve(false));
      c.on("close", () => resolve(true));
    });
    const bad = (i: number): Promise<unknown> => [
      () => rawClient(server.port, Buffer.from("not tls at all\r\n"), "wait"),
      () => rawClient(server.port, hello.subarray(0, 40), "end"),
      () => rawClient(server.port, hello.subarray(0, 40), "reset"),
    ][i % 3]();
    for (let round = 0; round < 6; round++) {
      const oks = await Promise.all(Array.from({ length: 20 }, (_, i) => [good(), bad(round * 20 + i)]).flat());
      expect(oks.filter((x) => x === true).length).toBe(20);
    }
    await waitFor(() => server.handlers.length === 240 && server.handlers.every((h) => h.isClosed()), "every channel to close");
    await waitFor(() => map.size === 1 && fds() <= before.fds + 2, `descriptors back to ${before.fds} (now ${fds()})`);
    expect(map.size).toBe(1); // the listener
    await waitFor(() => liveChannels() === before.channels, `the core's channels back to ${before.channels} (now ${liveChannels()})`);
    expect(handles()).toBeLessThanOrEqual(before.handles);
    expect(loopStats({ map }).chunksInUse).toBeLessThanOrEqual(before.chunks);
    const served = server.handlers.filter((h) => h.received === 4).length;
    expect(served).toBe(120);
    await loopRun.stop();
  });
});
