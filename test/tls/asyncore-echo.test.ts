// CPython's asyncore TLS example, ported: test_ssl's AsyncoreEchoServer (do_handshake_on_connect=False,
// do_handshake() driven from handle_read, pending() drained in readable()), driven by Python's real
// ssl client as test_ssl.test_asyncore_server drives it. Also Python's non-blocking semantics on
// the client side: doHandshake() throws the want-errors until the engine can go on.
//
// Derived from CPython's Lib/test/test_ssl.py (Copyright © 2001-2023 Python Software Foundation;
// PSF License Agreement, see the PSF notice beside LICENSE).
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import {
  ChannelMap, Dispatcher, DispatcherWithSend, Socket, SocketError, closeAll, AF_INET,
  SSLContext, SSLSocket, SSLWantReadError, SSLWantWriteError, SSLEOFError, SSLError, PROTOCOL_TLS_SERVER, PROTOCOL_TLS_CLIENT,
  type Address,
} from "../../host/index.js";
import { makePki, python, pythonServer, runLoop, waitFor, MODES, PY_LISTEN, type Pki } from "./helpers.js";

// CPython's own test certificate (Lib/test/certdata/keycert.pem: localhost, key included).
const CERTDATA = join(execFileSync("python3", ["-c", "import test, os; print(os.path.dirname(test.__file__))"]).toString().trim(), "certdata");
const CERTFILE = join(CERTDATA, "keycert.pem");

let pki: Pki;
let map: ChannelMap;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => closeAll({ map, ignoreAll: true }));

const log: string[] = [];

/** test_ssl.AsyncoreEchoServer.EchoServer.ConnectionHandler */
class ConnectionHandler extends DispatcherWithSend {
  sslAccepting: boolean;
  constructor(conn: Socket, certfile: string, m: ChannelMap) {
    const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
    ctx.loadCertChain(certfile);
    const sock = ctx.wrapSocket(conn, { serverSide: true, doHandshakeOnConnect: false });
    super(sock, m);
    this.sslAccepting = true;
    this.doSslHandshake();
  }
  override readable(): boolean {
    if (this.socket instanceof SSLSocket) {
      while (this.socket.pending() > 0) this.handleReadEvent();
    }
    return true;
  }
  doSslHandshake(): void {
    try {
      (this.socket as SSLSocket).doHandshake();
    } catch (err) {
      if (err instanceof SSLWantReadError || err instanceof SSLWantWriteError) { log.push("want"); return; }
      if (err instanceof SSLEOFError) { this.handleClose(); return; }
      if (err instanceof SSLError) throw err;
      if (err instanceof SocketError && err.code === "ECONNABORTED") { this.handleClose(); return; }
      throw err;
    }
    log.push("handshake done");
    this.sslAccepting = false;
  }
  override handleRead(): void {
    if (this.sslAccepting) {
      this.doSslHandshake();
    } else {
      const data = this.recv(1024);
      log.push(`server: read ${JSON.stringify(data.toString())} from client`);
      if (data.length === 0) this.close();
      else this.send(Buffer.from(data.toString("latin1").toLowerCase(), "latin1"));
    }
  }
  override handleClose(): void {
    this.close();
    log.push("server: closed connection");
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

/** test_ssl.AsyncoreEchoServer.EchoServer */
class EchoServer extends Dispatcher {
  port: number;
  constructor(readonly certfile: string, m: ChannelMap) {
    super(undefined, m);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.port = (this.socket!.getsockname() as [string, number])[1];
    this.listen(5);
  }
  override handleAccepted(sockObj: Socket, _addr: Address): void {
    new ConnectionHandler(sockObj, this.certfile, this._map);
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

describe.each(MODES)("CPython's AsyncoreEchoServer over TLS ($mode)", ({ usePoll }) => {
  it("test_asyncore_server: echoes lower-cased, with the handshake driven from handle_read", async () => {
    log.length = 0;
    map = new ChannelMap();
    const server = new EchoServer(CERTFILE, map);
    const loopRun = runLoop(map, usePoll);
    // test_ssl.ThreadedTests.test_asyncore_server's client half, as it is.
    const r = await python(`
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
indata = b"FOO\\n"
s = ctx.wrap_socket(socket.socket())
s.connect(('127.0.0.1', ${server.port}))
s.write(indata)
outdata = s.read()
print(repr(outdata), outdata == indata.lower())
s.write(b"over\\n")
s.close()`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("b'foo\\n' True\n");
    await waitFor(() => log.includes('server: read "" from client'), "the server side to close");
    // The handshake waited for the peer once at least (the constructor's own call), then finished.
    expect(log[0]).toBe("want");
    expect(log.filter((l) => l !== "want")).toEqual([
      // recv() of b'' calls handle_close() first (asyncore's dispatcher.recv), then handle_read logs it
      "handshake done", 'server: read "FOO\\n" from client', 'server: read "over\\n" from client', "server: closed connection", 'server: read "" from client',
    ]);
    await loopRun.stop();
    await expect(loopRun.done).resolves.toBeUndefined(); // handle_error re-raises: nothing was raised
  });

  it("a client drives doHandshake() itself: handleConnect when TCP connects, want-errors until the handshake is done", async () => {
    map = new ChannelMap();
    const { port, result } = await pythonServer(`${PY_LISTEN}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(${JSON.stringify(pki.serverCert)}, ${JSON.stringify(pki.serverKey)})
c, _ = ls.accept()
s = ctx.wrap_socket(c, server_side=True)
s.sendall(s.recv(100).upper())
s.close()`);
    const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
    ctx.loadVerifyLocations(pki.caCert);
    const seen: string[] = [];
    let wants = 0;
    class Client extends Dispatcher {
      handshaking = true;
      sent = false;
      constructor() {
        super(undefined, map);
        this.setSocket(ctx.wrapSocket(new Socket(AF_INET), { serverHostname: "localhost", doHandshakeOnConnect: false }));
        this.connect(["127.0.0.1", port]);
      }
      #step(): void {
        try {
          (this.socket as SSLSocket).doHandshake();
          this.handshaking = false;
          seen.push(`handshake ${(this.socket as SSLSocket).version()}`);
        } catch (err) {
          if (err instanceof SSLWantReadError || err instanceof SSLWantWriteError) { wants++; return; }
          throw err;
        }
      }
      override handleConnect(): void {
        seen.push(`connect version=${(this.socket as SSLSocket).version()}`);
        let caught: unknown;
        try { this.recv(10); } catch (err) { caught = err; }
        seen.push(`recv before the handshake: ${(caught as Error).constructor.name}`);
        this.#step();
      }
      override writable(): boolean { return !this.connected || !this.sent; }
      override handleWrite(): void {
        if (this.handshaking) { this.#step(); return; }
        this.send(Buffer.from("ping"));
        this.sent = true;
      }
      override handleRead(): void {
        if (this.handshaking) { this.#step(); return; }
        const d = this.recv(100);
        if (d.length > 0) seen.push(`read ${d.toString()}`);
      }
      override handleClose(): void { seen.push("close"); this.close(); }
      override handleError(err: unknown): void { throw err; }
    }
    new Client();
    await runLoop(map, usePoll).done;
    expect((await result).stderr).toBe("");
    expect(seen).toEqual(["connect version=null", "recv before the handshake: SSLWantReadError", "handshake TLSv1.3", "read PING", "close"]);
    expect(wants).toBeGreaterThan(0);
  });
});
