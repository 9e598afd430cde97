// A TLS echo server in the style of CPython's asyncore TLS example (test_ssl's AsyncoreEchoServer):
// wrapSocket(doHandshakeOnConnect: false), doHandshake() driven from handleRead(), pending() drained
// in readable(); it answers each read lower-cased.
// Usage: node build/examples/tls-echo-server.js CERT.pem KEY.pem [port]   (prints the port it listens on)
import { pathToFileURL } from "node:url";
import { Dispatcher, DispatcherWithSend, SocketError, loop, AF_INET, type Socket, type ChannelMap } from "../host/index.js";
import { SSLContext, SSLSocket, SSLWantReadError, SSLWantWriteError, SSLEOFError, PROTOCOL_TLS_SERVER } from "../host/tls/index.js";

/** One connection: the handshake first, then echo. Python: AsyncoreEchoServer.EchoServer.ConnectionHandler */
export class ConnectionHandler extends DispatcherWithSend {
  private sslAccepting = true;

  constructor(conn: Socket, ctx: SSLContext, map?: ChannelMap) {
    super(ctx.wrapSocket(conn, { serverSide: true, doHandshakeOnConnect: false }), map);
    this.doSslHandshake();
  }

  override readable(): boolean {
    if (this.socket instanceof SSLSocket) {
      while (this.socket.pending() > 0) this.handleReadEvent();
    }
    return true;
  }

  private doSslHandshake(): void {
    try {
      (this.socket as SSLSocket).doHandshake();
    } catch (err) {
      if (err instanceof SSLWantReadError || err instanceof SSLWantWriteError) return;
      if (err instanceof SSLEOFError) { this.handleClose(); return; }
      if (err instanceof SocketError && err.code === "ECONNABORTED") { this.handleClose(); return; }
      throw err; // an SSLError: handleError logs it and closes
    }
    this.sslAccepting = false;
  }

  override handleRead(): void {
    if (this.sslAccepting) {
      this.doSslHandshake();
    } else {
      const data = this.recv(1024);
      if (data.length === 0) this.close();
      else this.send(Buffer.from(data.toString("latin1").toLowerCase(), "latin1"));
    }
  }

  override handleClose(): void {
    this.close();
  }
}

/** Python: AsyncoreEchoServer.EchoServer */
export class EchoServer extends Dispatcher {
  private readonly ctx = new SSLContext(PROTOCOL_TLS_SERVER);

  constructor(certfile: string, keyfile: string, port = 0, map?: ChannelMap) {
    super(null, map);
    this.ctx.loadCertChain(certfile, keyfile);
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(["127.0.0.1", port]);
    this.listen(5);
  }

  override handleAccepted(sock: Socket): void {
    new ConnectionHandler(sock, this.ctx, this._map);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [cert, key, port] = process.argv.slice(2);
  if (!cert || !key) {
    console.error("usage: node build/examples/tls-echo-server.js CERT.pem KEY.pem [port]");
    process.exit(2);
  }
  const server = new EchoServer(cert, key, Number(port ?? 0));
  console.log(`tls echo server on 127.0.0.1:${(server.socket!.getsockname() as [string, number])[1]}`);
  await loop();
}
