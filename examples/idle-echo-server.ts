// An echo server that hangs up on connections idle for too long: wasyncore's timers at work.
//
//   node build/examples/idle-echo-server.js [port=8007] [idleSeconds=10]
//
// Each connection gets an idle timeout; a byte in either direction restarts its countdown.
// A callEvery() prints statistics; its timer keeps loop() running even with no connection.
import { Dispatcher, DispatcherWithSend, Socket, AF_INET, loop, callEvery, loopStats, type Address } from "../host/index.js";

class EchoHandler extends DispatcherWithSend {
  constructor(sock: Socket, readonly peer: Address, idleSeconds: number) {
    super(sock);
    this.setIdleTimeout(idleSeconds); // handleIdle() after idleSeconds of silence both ways
  }

  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }

  override handleIdle(): void {
    this.send(Buffer.from("idle timeout, bye\n")); // close() still delivers what send() took
    this.close();
  }
}

class EchoServer extends Dispatcher {
  constructor(port: number, readonly idleSeconds: number) {
    super();
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(["127.0.0.1", port]);
    this.listen(64);
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    new EchoHandler(sock, addr, this.idleSeconds);
  }
}

const port = Number(process.argv[2] ?? 8007);
const idleSeconds = Number(process.argv[3] ?? 10);
const server = new EchoServer(port, idleSeconds);
const [host, boundPort] = server.socket!.getsockname() as [string, number];
console.log(`listening on ${host}:${boundPort}, closing connections idle for ${idleSeconds} s`);

callEvery(10, () => {
  const s = loopStats();
  console.log(`${s.connected} connected, ${s.bytesIn} bytes in, ${s.bytesOut} bytes out, ${s.timersPending} timers`);
});

await loop();
