// An HTTPS "hello" server with HTTP/1.1 keep-alive: TLS from wasyncore/tls, one handler per connection.
// Usage: node build/examples/https-hello.js CERT.pem KEY.pem [port]   (prints the port it listens on)
import { pathToFileURL } from "node:url";
import { Dispatcher, DispatcherWithSend, loop, AF_INET, type Socket, type ChannelMap } from "../host/index.js";
import { SSLContext, PROTOCOL_TLS_SERVER } from "../host/tls/index.js";

const BODY = Buffer.from("Hello, world!\n");
const RESPONSE = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n`), BODY]);

/** Answers every request head on the connection (keep-alive); the handshake happened before the first handleRead(). */
export class HelloHandler extends DispatcherWithSend {
  private pending = "";

  override handleRead(): void {
    const data = this.recv(65536);
    if (data.length === 0) return;
    this.pending += data.toString("latin1");
    let end: number;
    while ((end = this.pending.indexOf("\r\n\r\n")) >= 0) {
      const head = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 4);
      this.send(RESPONSE);
      if (/\r\nconnection:\s*close/i.test(head)) { this.closeWhenSent = true; break; }
    }
  }

  private closeWhenSent = false;

  override handleWrite(): void {
    super.handleWrite();
    if (this.closeWhenSent && this.outBuffer.length === 0) this.close(); // close_notify follows the response
  }

  override handleClose(): void {
    this.close();
  }
}

/** Listens on `port` (0: any) and wraps each connection server-side with `ctx`. */
export class HttpsServer extends Dispatcher {
  constructor(readonly ctx: SSLContext, port = 0, map?: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(["127.0.0.1", port]);
    this.listen(128);
  }

  override handleAccepted(sock: Socket): void {
    new HelloHandler(this.ctx.wrapSocket(sock, { serverSide: true }), this._map);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [cert, key, port] = process.argv.slice(2);
  if (!cert || !key) {
    console.error("usage: node build/examples/https-hello.js CERT.pem KEY.pem [port]");
    process.exit(2);
  }
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  ctx.loadCertChain(cert, key);
  const server = new HttpsServer(ctx, Number(port ?? 0));
  console.log(`https on 127.0.0.1:${(server.socket!.getsockname() as [string, number])[1]}`);
  await loop({ usePoll: true });
}
