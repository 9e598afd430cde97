// A UDP echo server on the engine's datagram API: every datagram goes back to its sender.
// Usage: node build/examples/udp-echo-server.js [port]   (prints the port it is bound to)
// Its AssemblyScript twin, run in the sandbox: examples/assembly/udp-echo.ts
//   npx wasyncore run build/servers/udp-echo.host.wasm --listen-udp 127.0.0.1:8007
import { pathToFileURL } from "node:url";
import { Dispatcher, loop, type ChannelMap, type Address, AF_INET, SOCK_DGRAM } from "../host/index.js";

const MAX_PENDING = 64;

/**
 * Sends every datagram back to where it came from, one per read event. A reply the socket cannot
 * take yet waits and goes out from handleWrite(); while 64 wait, the server stops reading.
 */
export class UdpEchoServer extends Dispatcher {
  private pending: [Buffer, Address][] = [];

  constructor(host: string, port: number, map?: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_DGRAM);
    this.bind([host, port]);
  }

  /** The port the socket is bound to. */
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }

  override handleRead(): void {
    this.pending.push(this.recvfrom(65536));
    this.handleWrite();
  }

  override handleWrite(): void {
    while (this.pending.length > 0) {
      const [data, to] = this.pending[0];
      if (this.sendto(data, to) !== data.length) return; // not taken: writable again later
      this.pending.shift();
    }
  }

  override readable(): boolean {
    return this.pending.length < MAX_PENDING;
  }

  override writable(): boolean {
    return this.pending.length > 0;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = new UdpEchoServer("127.0.0.1", Number(process.argv[2] ?? 0));
  console.log(`udp echo server on 127.0.0.1:${server.port}`);
  await loop();
}
