// The seed document's basic HTTP client, ported line for line.
// Usage: node build/examples/http-client.js http://127.0.0.1:8000/path
import { pathToFileURL } from "node:url";
import { Dispatcher, loop, AF_INET, AF_INET6, SOCK_STREAM } from "../host/index.js";

/** Python: the seed's http_client(asyncore.dispatcher) */
export class HttpClient extends Dispatcher {
  buffer: Buffer;

  constructor(host: string, port: number, path: string, out: (data: Buffer) => void = (d) => process.stdout.write(d)) {
    super();
    this.out = out;
    this.createSocket(host.includes(":") ? AF_INET6 : AF_INET, SOCK_STREAM);
    this.connect([host, port]);
    this.buffer = Buffer.from(`GET ${path} HTTP/1.0\r\n\r\n`);
  }
  private readonly out: (data: Buffer) => void;

  override handleConnect(): void {}

  override handleClose(): void {
    this.close();
  }

  override handleRead(): void {
    this.out(this.recv(8192));
  }

  override writable(): boolean {
    return this.buffer.length > 0;
  }

  override handleWrite(): void {
    const sent = this.send(this.buffer);
    this.buffer = this.buffer.subarray(sent);
  }
}

/** Splits a URL into the client's (host, port, path). */
export function parseUrl(url: string): [string, number, string] {
  const u = new URL(url);
  if (u.protocol !== "http:") throw new TypeError(`http-client: only http:// URLs are supported, got ${JSON.stringify(url)}`);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return [host, u.port ? Number(u.port) : 80, `${u.pathname}${u.search}` || "/"];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.argv[2];
  if (!url) {
    console.error("usage: http-client <http://host:port/path>");
    process.exit(2);
  }
  new HttpClient(...parseUrl(url));
  await loop();
}
