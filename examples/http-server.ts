// A small HTTP/1.0 server on the engine: one page, one response per connection.
import { Dispatcher, DispatcherWithSend, type Socket, type ChannelMap, AF_INET, SOCK_STREAM } from "../host/index.js";

/** Reads one request head and answers with the page. */
export class PageHandler extends DispatcherWithSend {
  private request = Buffer.alloc(0);

  constructor(sock: Socket, map: ChannelMap | undefined, private readonly page: string, private readonly onServed: () => void) {
    super(sock, map);
  }

  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length === 0) return;
    this.request = Buffer.concat([this.request, data]);
    if (!this.request.includes("\r\n\r\n")) return;
    const body = Buffer.from(this.page);
    this.send(Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`));
    this.send(body);
    this.onServed();
    if (this.outBuffer.length === 0) this.close(); // bytes send() took are still delivered
  }

  override handleWrite(): void {
    this.initiateSend();
    if (this.outBuffer.length === 0 && this.request.includes("\r\n\r\n")) this.close(); // HTTP/1.0: close after the response
  }

  override handleClose(): void {
    this.close();
  }
}

/** Serves `page` on loopback; `onServed` runs after each response is queued. */
export class HttpServer extends Dispatcher {
  constructor(private readonly page: string, map?: ChannelMap, private readonly onServed: () => void = () => {}) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.bind(["127.0.0.1", 0]);
    this.listen(5);
  }

  override handleAccepted(sock: Socket): void {
    new PageHandler(sock, this._map, this.page, this.onServed);
  }
}
