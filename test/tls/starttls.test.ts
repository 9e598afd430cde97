// STARTTLS on an open connection (`this.setSocket(ctx.wrapSocket(this.socket, …))`, same channel,
// same fileno) and back (`unwrap()`), with an AsyncChat line protocol; peers: Python's ssl (both
// directions) and `openssl s_client -starttls smtp`.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import {
  ChannelMap, Dispatcher, AsyncChat, Socket, closeAll, AF_INET,
  SSLContext, SSLSocket, SSLWantReadError, PROTOCOL_TLS_SERVER,
} from "../../host/index.js";
import { makePki, python, run, runLoop, waitFor, MODES, pyClientContext, type Pki } from "./helpers.js";

let pki: Pki;
let map: ChannelMap;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => closeAll({ map, ignoreAll: true }));

/** A tiny SMTP-like server: STARTTLS switches to TLS, STOPTLS back to plaintext, on one channel. */
class Session extends AsyncChat {
  lines: string[] = [];
  filenos: number[] = [];
  unwrapping = false;
  buf: Buffer[] = [];
  constructor(sock: Socket, m: ChannelMap, readonly ctx: SSLContext) {
    super(sock, m);
    this.setTerminator("\r\n");
    this.push(Buffer.from("220 wasyncore ESMTP\r\n"));
  }
  override collectIncomingData(data: Buffer): void { this.buf.push(data); }
  override foundTerminator(): void {
    const line = Buffer.concat(this.buf).toString();
    this.buf = [];
    const tls = this.socket instanceof SSLSocket ? (this.socket as SSLSocket).version() : null;
    this.lines.push(`${line}${tls ? ` [${tls}]` : ""}`);
    this.filenos.push(this.fileno());
    const verb = line.split(" ")[0].toUpperCase();
    if (verb === "EHLO") this.push(Buffer.from("250-wasyncore\r\n250 STARTTLS\r\n"));
    else if (verb === "STARTTLS") {
      this.push(Buffer.from("220 Ready to start TLS\r\n")); // sent in plaintext, before the handshake's bytes
      this.setSocket(this.ctx.wrapSocket(this.socket!, { serverSide: true }));
    } else if (verb === "STOPTLS") {
      this.push(Buffer.from("220 plaintext again\r\n"));
      this.unwrapping = true;
      this.tryUnwrap();
    } else if (verb === "QUIT") {
      this.push(Buffer.from(`221 bye\r\n`));
      this.closeWhenDone();
    } else this.push(Buffer.from(`250 ${verb} ok${tls ? ` over ${tls}` : " in plaintext"}\r\n`));
  }
  tryUnwrap(): void {
    try {
      this.setSocket((this.socket as SSLSocket).unwrap());
      this.unwrapping = false;
      this.lines.push("(unwrapped)");
    } catch (err) {
      if (!(err instanceof SSLWantReadError)) throw err; // the peer's close_notify comes later: readable then
    }
  }
  override handleRead(): void {
    if (this.unwrapping) {
      this.tryUnwrap();
      if (this.unwrapping) return;
    }
    super.handleRead();
  }
}

class Server extends Dispatcher {
  sessions: Session[] = [];
  port: number;
  constructor(m: ChannelMap, readonly ctx: SSLContext) {
    super(undefined, m);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(5);
    this.port = (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket): void { this.sessions.push(new Session(sock, this._map, this.ctx)); }
}

function serverContext(): SSLContext {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  ctx.loadCertChain(pki.serverCert, pki.serverKey);
  return ctx;
}

describe.each(MODES)("STARTTLS ($mode)", ({ usePoll }) => {
  it("goes plaintext → TLS → plaintext on one open connection (Python's wrap_socket() and unwrap())", async () => {
    map = new ChannelMap();
    const server = new Server(map, serverContext());
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki)}
def line(s):
    b = b''
    while not b.endswith(b'\\r\\n'):
        c = s.recv(1)
        if not c: break
        b += c
    return b.decode().strip()
raw = socket.create_connection(('127.0.0.1', ${server.port}))
print(line(raw))
raw.sendall(b'STARTTLS\\r\\n'); print(line(raw))
s = ctx.wrap_socket(raw, server_hostname='localhost')
s.sendall(b'NOOP\\r\\n'); print(line(s))
s.sendall(b'STOPTLS\\r\\n'); print(line(s))
p = s.unwrap()
p.sendall(b'NOOP\\r\\n'); print(line(p))
p.sendall(b'QUIT\\r\\n'); print(line(p))
print(repr(p.recv(10)))`);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual([
      "220 wasyncore ESMTP", "220 Ready to start TLS", "250 NOOP ok over TLSv1.3", "220 plaintext again", "250 NOOP ok in plaintext", "221 bye", "b''",
    ]);
    await waitFor(() => server.sessions[0]?.isClosed(), "the session to close");
    const s = server.sessions[0];
    expect(s.lines).toEqual(["STARTTLS", "NOOP [TLSv1.3]", "STOPTLS [TLSv1.3]", "(unwrapped)", "NOOP", "QUIT"]);
    expect(new Set(s.filenos).size).toBe(1); // one channel throughout
    await loopRun.stop();
  });

  it("serves openssl s_client -starttls smtp", async () => {
    map = new ChannelMap();
    const server = new Server(map, serverContext());
    const loopRun = runLoop(map, usePoll);
    const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${server.port}`, "-starttls", "smtp", "-servername", "localhost",
      "-CAfile", pki.caCert, "-verify_return_error", "-crlf", "-ign_eof", "-nocommands"], { input: "NOOP\nQUIT\n" });
    expect(r.stdout).toContain("Verify return code: 0 (ok)");
    expect(r.stdout).toMatch(/250 NOOP ok over TLSv1\.3\r?\n221 bye/);
    await waitFor(() => server.sessions[0]?.isClosed(), "the session to close");
    expect(server.sessions[0].lines.map((l) => l.split(" ")[0])).toEqual(["EHLO", "STARTTLS", "NOOP", "QUIT"]);
    expect(server.sessions[0].lines.slice(2)).toEqual(["NOOP [TLSv1.3]", "QUIT [TLSv1.3]"]);
    await loopRun.stop();
  });
});
