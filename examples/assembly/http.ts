// An HTTP/1.1 "hello" server written in AssemblyScript on wasyncore: keep-alive, pipelining,
// request bodies skipped by Content-Length, "Connection: close" honoured.
// Build: npm run build:servers → build/servers/http.host.wasm and http.wasix.wasm.
// Run:   npx wasyncore run build/servers/http.host.wasm --listen 127.0.0.1:8080
import { Dispatcher, DispatcherWithSend, Socket, serve, argValue, parseHostPort, errnoName } from "../../assembly/server";

const BODY = "Hello, world!\n";
const MAX_HEAD = 16384;
const RESPONSE = String.UTF8.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + BODY.length.toString() + "\r\n\r\n" + BODY);
const RESPONSE_CLOSE = String.UTF8.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + BODY.length.toString() + "\r\nConnection: close\r\n\r\n" + BODY);
const TOO_LARGE = String.UTF8.encode(
  "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

/** Index of "\r\n\r\n" in buf[from..len), or -1. */
function headEnd(buf: Uint8Array, from: i32, len: i32): i32 {
  for (let i = max(from, 0); i + 3 < len; i++) {
    if (unchecked(buf[i]) == 13 && unchecked(buf[i + 1]) == 10 && unchecked(buf[i + 2]) == 13 && unchecked(buf[i + 3]) == 10) return i;
  }
  return -1;
}

function lower(c: u8): u8 { return c >= 65 && c <= 90 ? c + 32 : c; }

/** Does the line at [start, end) begin with `name:` (case-insensitive)? Returns the value start or -1. */
function header(buf: Uint8Array, start: i32, end: i32, name: string): i32 {
  let n = name.length;
  if (end - start <= n || buf[start + n] != 58) return -1;
  for (let i = 0; i < n; i++) if (lower(buf[start + i]) != <u8>name.charCodeAt(i)) return -1;
  let v = start + n + 1;
  while (v < end && (buf[v] == 32 || buf[v] == 9)) v++;
  return v;
}

function contains(buf: Uint8Array, start: i32, end: i32, word: string): bool {
  let n = word.length;
  for (let i = start; i + n <= end; i++) {
    let ok = true;
    for (let j = 0; j < n; j++) if (lower(buf[i + j]) != <u8>word.charCodeAt(j)) { ok = false; break; }
    if (ok) return true;
  }
  return false;
}

class HttpHandler extends DispatcherWithSend {
  private buf: Uint8Array = new Uint8Array(4096);
  private len: i32 = 0;
  private skip: i32 = 0; // body bytes still to drop
  private closeWhenDone: bool = false;

  readable(): bool { return !this.closeWhenDone && this.outBuffer.length < 65536; }

  handleRead(): void {
    let data = this.recv(65536);
    if (data.length == 0) return;
    let from = 0;
    if (this.skip > 0) { from = min(this.skip, data.length); this.skip -= from; }
    this.append(data, from);
    this.serveRequests();
  }

  private append(data: Uint8Array, from: i32): void {
    let n = data.length - from;
    if (n <= 0) return;
    if (this.len + n > this.buf.length) {
      let grown = new Uint8Array(max(this.buf.length * 2, this.len + n));
      grown.set(this.buf.subarray(0, this.len), 0);
      this.buf = grown;
    }
    this.buf.set(data.subarray(from), this.len);
    this.len += n;
  }

  private serveRequests(): void {
    let start = 0;
    while (!this.closeWhenDone) {
      let end = headEnd(this.buf, start, this.len);
      if (end < 0) {
        if (this.len - start > MAX_HEAD) this.finish(TOO_LARGE);
        break;
      }
      let close = false;
      let bodyLen = 0;
      // request line: HTTP/1.0 closes unless it asks for keep-alive
      let line = start;
      while (line < end && this.buf[line] != 13) line++;
      let http10 = contains(this.buf, start, line, "http/1.0");
      let keepAlive = false;
      let p = line + 2;
      while (p < end) {
        let q = p;
        while (q < end && this.buf[q] != 13) q++;
        let v = header(this.buf, p, q, "connection");
        if (v >= 0) {
          if (contains(this.buf, v, q, "close")) close = true;
          if (contains(this.buf, v, q, "keep-alive")) keepAlive = true;
        }
        v = header(this.buf, p, q, "content-length");
        if (v >= 0) {
          for (let i = v; i < q && this.buf[i] >= 48 && this.buf[i] <= 57; i++) bodyLen = bodyLen * 10 + (this.buf[i] - 48);
        }
        p = q + 2;
      }
      if (http10 && !keepAlive) close = true;
      start = end + 4;
      let inBuf = min(bodyLen, this.len - start);
      start += inBuf;
      this.skip = bodyLen - inBuf;
      if (close) this.finish(RESPONSE_CLOSE);
      else this.send(Uint8Array.wrap(RESPONSE));
    }
    // keep the unparsed tail
    if (start > 0) {
      this.buf.copyWithin(0, start, this.len);
      this.len -= start;
    }
  }

  private finish(response: ArrayBuffer): void {
    this.send(Uint8Array.wrap(response));
    this.closeWhenDone = true;
    if (this.outBuffer.length == 0) this.close();
  }

  handleWrite(): void {
    this.initiateSend();
    if (this.closeWhenDone && this.outBuffer.length == 0) this.close();
  }

  handleClose(): void { this.close(); }
}

class HttpServer extends Dispatcher {
  handleAccepted(sock: Socket): void {
    new HttpHandler(sock);
  }
}

function main(): void {
  let addr = parseHostPort(argValue("--listen", "127.0.0.1:8080"));
  let server = new HttpServer();
  let rc = server.createSocket();
  if (rc == 0) rc = server.bind(addr.host, addr.port);
  if (rc == 0) rc = server.listen(128);
  if (rc != 0) {
    console.log("http: cannot listen on " + addr.host + ":" + addr.port.toString() + ": " + errnoName(rc));
    server.close();
    return;
  }
  // the Node runner says where it listens itself; a WASIX runtime does not
  if (WASYNCORE_WASIX) console.log("http: listening on " + addr.host + ":" + server.localPort().toString());
}

serve(main);
