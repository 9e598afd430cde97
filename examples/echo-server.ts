// An echo server on DispatcherWithSend, as in asyncore's documentation.
// Usage: node build/examples/echo-server.js [port]   (prints the port it listens on)
import { pathToFileURL } from "node:url";
import { Dispatcher, DispatcherWithSend, loop, type Socket, type ChannelMap, AF_INET, SOCK_STREAM } from "../host/index.js";

/** Sends back whatever it reads. */
export class EchoHandler extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }

  override handleClose(): void {
    this.close();
  }
}

/** Accepts connections and gives each an EchoHandler. */
export class EchoServer extends Dispatcher {
  constructor(host: string, port: number, map?: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(5);
  }

  override handleAccepted(sock: Socket): void {
    new EchoHandler(sock, this._map);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = new EchoServer("127.0.0.1", Number(process.argv[2] ?? 0));
  const [, port] = server.socket!.getsockname() as [string, number];
  console.log(`echo server on 127.0.0.1:${port}`);
  await loop();
}
