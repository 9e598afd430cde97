// wasyncore HTTPS "hello" server for bench/tls-compare.mjs: Dispatcher listener, DispatcherWithSend
// handlers over SSLContext.wrapSocket() (the handshake done before the first handleRead()).
// usage: [WASYNCORE_BACKEND=native|net] node tls_wasyncore.mjs CERT KEY keepalive|close
// Prints its port, then serves; "close": the connection is closed after its first response.
import { announcePort, RequestCounter, responses } from './common.mjs';

const api = await import(new URL('../../build/host/index.js', import.meta.url).href);
const { SSLContext, PROTOCOL_TLS_SERVER } = await import(new URL('../../build/host/tls/index.js', import.meta.url).href);
const [cert, key, mode] = process.argv.slice(2);
const closeAfter = mode === 'close';
// close mode: the response says it closes (wrk then counts no read error)
const CLOSING = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
ctx.loadCertChain(cert, key);

class HttpsHandler extends api.DispatcherWithSend {
  counter = new RequestCounter();

  handleRead() {
    let data;
    try {
      data = this.recv(65536);
    } catch (err) {
      if (err?.code === 'EAGAIN') return;
      throw err;
    }
    if (!data.length) return;
    const n = this.counter.feed(data);
    if (n === 0) return;
    this.send(closeAfter ? CLOSING : responses(n));
    if (closeAfter) this.close(); // close() delivers the response, then close_notify
  }

  handleClose() {
    this.close();
  }

  handleError() {
    this.close();
  }
}

class Listener extends api.Dispatcher {
  constructor() {
    super();
    this.createSocket(api.AF_INET, api.SOCK_STREAM);
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(1024);
  }

  handleAccept() {
    for (let i = 0; i < 64; i++) {
      const pair = this.accept();
      if (!pair) return;
      new HttpsHandler(ctx.wrapSocket(pair[0], { serverSide: true }));
    }
  }
}

const server = new Listener();
const wanted = process.env.WASYNCORE_BACKEND;
const backend = api.NativeSocket && server.socket instanceof api.NativeSocket ? 'native' : 'net';
if (wanted && wanted !== backend) {
  process.stdout.write(`UNAVAILABLE WASYNCORE_BACKEND=${wanted} gave a ${backend} socket\n`);
  process.exit(0);
}
process.on('SIGINT', () => process.exit(0)); // (--cpu-prof writes its profile on exit)
announcePort(server.socket.getsockname()[1]);
await api.loop({ timeout: 30, usePoll: true });
