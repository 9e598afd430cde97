// TLS handshakes both ways over loopback with Python's ssl and `openssl s_client` as the peers:
// server and client side, client certificates, ALPN, SNI; select and poll2 (both backends run
// this file: the `net` and `native` vitest projects).
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import {
  ChannelMap, Dispatcher, DispatcherWithSend, Socket, closeAll, AF_INET,
  SSLContext, SSLSocket, SSLError, PROTOCOL_TLS_SERVER, PROTOCOL_TLS_CLIENT, CERT_REQUIRED, CERT_OPTIONAL,
  AlertDescription, type Address,
} from "../../host/index.js";
import { makePki, python, pythonServer, pyClientContext, run, runLoop, waitFor, MODES, PY_LISTEN, type Pki } from "./helpers.js";

let pki: Pki;
let map: ChannelMap;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => closeAll({ map, ignoreAll: true }));

function serverContext(): SSLContext {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  ctx.loadCertChain(pki.serverCert, pki.serverKey);
  return ctx;
}

/** One echo connection's story: the handlers it saw, in order, and what errors reached handleError. */
class EchoHandler extends DispatcherWithSend {
  events: string[] = [];
  errors: unknown[] = [];
  constructor(sock: Socket, m: ChannelMap, readonly server: EchoServer) { super(sock, m); }
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length === 0) return;
    this.events.push(`read ${data.toString()}`);
    this.send(data);
    if (this.server.oneShot) this.close(); // what send() took still goes out, then close_notify
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
    this.events.push(`error ${(err as Error).name}`);
    this.handleClose();
  }
  override handleClose(): void {
    this.events.push("close");
    this.close();
  }
}

/** A listener whose connections are wrapped server-side by `ctx` and echoed. */
class EchoServer extends Dispatcher {
  handlers: EchoHandler[] = [];
  port: number;
  oneShot = false;
  constructor(m: ChannelMap, readonly ctx: SSLContext, readonly wrap: { doHandshakeOnConnect?: boolean } = {}) {
    super(undefined, m);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(16);
    this.port = (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket): void {
    this.handlers.push(new EchoHandler(this.ctx.wrapSocket(sock, { serverSide: true, ...this.wrap }), this._map, this));
  }
}

describe.each(MODES)("TLS handshake ($mode)", ({ usePoll }) => {
  it("serves Python's ssl client: verified by the client, plaintext echoed both ways", async () => {
    map = new ChannelMap();
    const server = new EchoServer(map, serverContext());
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki)}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
print(s.version(), s.getpeercert()['subject'])
for i in range(3):
    s.sendall(b'line %d' % i)
    print(s.recv(100).decode())
s.close()`);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual(["TLSv1.3 ((('organizationName', 'wasyncore tests'),), (('commonName', 'localhost'),))", "line 0", "line 1", "line 2", ""]);
    await waitFor(() => server.handlers[0]?.events.includes("close"), "the server side to close");
    expect(server.handlers[0].events).toEqual(["read line 0", "read line 1", "read line 2", "close"]);
    await loopRun.stop();
  });

  it("connects to Python's ssl server: handleConnect after the handshake, then plaintext, then close", async () => {
    map = new ChannelMap();
    const { port, result } = await pythonServer(`${PY_LISTEN}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(${JSON.stringify(pki.serverCert)}, ${JSON.stringify(pki.serverKey)})
c, _ = ls.accept()
s = ctx.wrap_socket(c, server_side=True)
data = s.recv(100)
s.sendall(data.upper())
s.unwrap().close()
print(s.version() or 'closed', data.decode())`);
    const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
    ctx.loadVerifyLocations(pki.caCert);
    const seen: string[] = [];
    let info: unknown[] = [];
    class Client extends Dispatcher {
      out = Buffer.from("hello tls");
      constructor() {
        super(undefined, map);
        this.setSocket(ctx.wrapSocket(new Socket(AF_INET), { serverHostname: "localhost" }));
        this.connect(["127.0.0.1", port]);
      }
      override handleConnect(): void {
        const s = this.socket as SSLSocket;
        seen.push(`connect connected=${this.connected}`);
        info = [s.version(), s.cipher()?.[1], (s.getpeercert() as { subject: unknown }).subject, s.selectedAlpnProtocol(), s.serverHostname];
      }
      override writable(): boolean { return this.out.length > 0; }
      override handleWrite(): void {
        seen.push("write");
        this.out = this.out.subarray(this.send(this.out));
      }
      override handleRead(): void {
        const d = this.recv(100);
        if (d.length > 0) seen.push(`read ${d.toString()}`);
      }
      override handleClose(): void { seen.push("close"); this.close(); }
    }
    new Client();
    const loopRun = runLoop(map, usePoll);
    await loopRun.done;
    const r = await result;
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("hello tls");
    expect(seen).toEqual(["connect connected=false", "write", "read HELLO TLS", "close"]);
    expect(info).toEqual(["TLSv1.3", "TLSv1.3", [[["organizationName", "wasyncore tests"]], [["commonName", "localhost"]]], null, "localhost"]);
  });

  it("asks for a client certificate and reads it (CERT_REQUIRED), and refuses a client without one", async () => {
    map = new ChannelMap();
    const ctx = serverContext();
    ctx.verifyMode = CERT_REQUIRED;
    ctx.loadVerifyLocations(pki.caCert);
    let peer: unknown = null;
    class CertEcho extends EchoServer {
      override handleAccepted(sock: Socket): void {
        const h = new EchoHandler(this.ctx.wrapSocket(sock, { serverSide: true }), this._map, this);
        const read = h.handleRead.bind(h);
        h.handleRead = () => { peer ??= (h.socket as SSLSocket).getpeercert(); read(); };
        this.handlers.push(h);
      }
    }
    const server = new CertEcho(map, ctx);
    const loopRun = runLoop(map, usePoll);
    const ok = await python(`${pyClientContext(pki, { cert: true })}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
s.sendall(b'with cert'); print(s.recv(100).decode()); s.close()`);
    expect(ok.stdout).toBe("with cert\n");
    expect((peer as { subject: unknown }).subject).toEqual([[["organizationName", "wasyncore tests"]], [["commonName", "test client"]]]);
    const bare = await python(`${pyClientContext(pki)}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
try:
    s.sendall(b'no cert'); print('got', s.recv(100))
except (ssl.SSLError, OSError) as e:
    print('refused', type(e).__name__)`);
    expect(bare.stdout).toMatch(/^refused SSL/);
    await waitFor(() => server.handlers.length === 2 && server.handlers[1].events.includes("close"), "the refused channel to close");
    const err = server.handlers[1].errors[0] as SSLError;
    expect(err).toBeInstanceOf(SSLError);
    expect(err.code).toBe("SSL_ERROR_SSL");
    expect(err.errno).toBe(1);
    expect(err.reason).toBe("PEER_DID_NOT_RETURN_A_CERTIFICATE");
    expect(server.handlers[1].events).toEqual(["error SSLError", "close"]);
    expect(server.handlers[0].errors).toEqual([]);
    await loopRun.stop();
  });

  it("accepts a client without a certificate under CERT_OPTIONAL (getpeercert() is null)", async () => {
    map = new ChannelMap();
    const ctx = serverContext();
    ctx.verifyMode = CERT_OPTIONAL;
    ctx.loadVerifyLocations(pki.caCert);
    const server = new EchoServer(map, ctx);
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki)}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
s.sendall(b'optional'); print(s.recv(100).decode()); s.close()`);
    expect(r.stdout).toBe("optional\n");
    await waitFor(() => server.handlers[0]?.events.includes("close"), "close");
    expect(server.handlers[0].errors).toEqual([]);
    await loopRun.stop();
  });

  it("negotiates ALPN with Python's client", async () => {
    map = new ChannelMap();
    const ctx = serverContext();
    ctx.setAlpnProtocols(["h2", "http/1.1"]);
    let chosen: string | null | undefined;
    const server = new EchoServer(map, ctx);
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki, { alpn: ["spdy/1", "http/1.1"] })}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
print(s.selected_alpn_protocol()); s.sendall(b'x'); s.recv(10)
import time; time.sleep(0.2); s.close()`);
    chosen = (server.handlers[0].socket as SSLSocket).selectedAlpnProtocol();
    expect(r.stdout).toBe("http/1.1\n");
    expect(chosen).toBe("http/1.1");
    await loopRun.stop();
  });

  it("picks the certificate by SNI (sniCallback sets the socket's context) and refuses an unknown name", async () => {
    map = new ChannelMap();
    const other = new SSLContext(PROTOCOL_TLS_SERVER);
    other.loadCertChain(pki.otherCert, pki.otherKey);
    const ctx = serverContext();
    const names: string[] = [];
    ctx.sniCallback = (sock, name) => {
      names.push(name);
      if (name === "other.test") sock.context = other;
      else if (name !== "localhost") return AlertDescription.ALERT_DESCRIPTION_UNRECOGNIZED_NAME;
      return null;
    };
    const server = new EchoServer(map, ctx);
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki)}
for name in ['other.test', 'localhost', 'wrong.test']:
    try:
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname=name)
        print(s.getpeercert()['subject'][1][0][1]); s.sendall(b'x'); s.recv(10); s.close()
    except (ssl.SSLError, OSError) as e:
        print('failed', type(e).__name__)`);
    expect(r.stdout).toMatch(/^other\.test\nlocalhost\nfailed SSL\w*Error\n$/);
    expect(names).toEqual(["other.test", "localhost", "wrong.test"]);
    await waitFor(() => server.handlers.length === 3 && server.handlers[2].events.includes("close"), "the refused channel to close");
    expect(server.handlers[2].errors[0]).toBeInstanceOf(SSLError);
    expect(server.handlers[0].errors).toEqual([]);
    await loopRun.stop();
  });

  it("serves openssl s_client (verifying, with SNI and ALPN)", async () => {
    map = new ChannelMap();
    const ctx = serverContext();
    ctx.setAlpnProtocols(["echo/1"]);
    const server = new EchoServer(map, ctx);
    server.oneShot = true;
    const loopRun = runLoop(map, usePoll);
    const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${server.port}`, "-servername", "localhost", "-CAfile", pki.caCert,
      "-verify_return_error", "-alpn", "echo/1", "-ign_eof"], { input: "from s_client\n" });
    expect(r.stdout).toContain("Verify return code: 0 (ok)");
    expect(r.stdout).toContain("ALPN protocol: echo/1");
    expect(r.stdout).toMatch(/---\nfrom s_client\n/);
    expect(r.stdout).toContain("closed");
    expect(r.code).toBe(0);
    await waitFor(() => server.handlers[0]?.isClosed(), "close");
    expect(server.handlers[0].events).toEqual(["read from s_client\n"]);
    expect(server.handlers[0].errors).toEqual([]);
    await loopRun.stop();
  });

  it("talks to itself: a wasyncore client and server, TLS 1.2 pinned, with the server's name checked", async () => {
    map = new ChannelMap();
    const sctx = serverContext();
    sctx.maximumVersion = 0x303; // TLSVersion.TLSv1_2
    const server = new EchoServer(map, sctx);
    const cctx = new SSLContext(PROTOCOL_TLS_CLIENT);
    cctx.loadVerifyLocations(pki.caCert);
    const got: string[] = [];
    class Client extends DispatcherWithSend {
      constructor(addr: Address) {
        super(undefined, map);
        this.createSocket(AF_INET);
        this.setSocket(cctx.wrapSocket(this.socket!, { serverHostname: "localhost" }));
        this.connect(addr);
        this.send(Buffer.from("queued before the handshake"));
      }
      override handleConnect(): void { got.push(`connect ${(this.socket as SSLSocket).version()}`); }
      override handleRead(): void {
        const d = this.recv(100);
        if (d.length > 0) { got.push(d.toString()); this.close(); }
      }
    }
    new Client(["127.0.0.1", server.port]);
    const loopRun = runLoop(map, usePoll);
    await waitFor(() => got.length === 2, "the echo");
    expect(got).toEqual(["connect TLSv1.2", "queued before the handshake"]);
    await loopRun.stop();
  });
});
