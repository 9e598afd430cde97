// An echo server written in AssemblyScript on wasyncore: every byte a client sends comes back.
// Build: npm run build:servers → build/servers/echo.host.wasm (Node runner) and echo.wasix.wasm.
// Run:   npx wasyncore run build/servers/echo.host.wasm --listen 127.0.0.1:8007
import { Dispatcher, Socket, serve, argValue, parseHostPort, errnoName, AF_INET, AF_INET6 } from "../../assembly/server";

class EchoHandler extends Dispatcher {
  handleRead(): void {
    let data = this.recv(65536);
    if (data.length > 0) this.send(data); // the send window (64 KiB) holds a full read
  }

  // Stop reading while output is queued: a slow reader cannot make the server buffer without end.
  readable(): bool {
    let s = this.socket;
    return s === null || s.outLen == 0;
  }

  writable(): bool { return false; }

  handleClose(): void { this.close(); }
}

class EchoServer extends Dispatcher {
  handleAccepted(sock: Socket): void {
    new EchoHandler(sock);
  }
}

function main(): void {
  let addr = parseHostPort(argValue("--listen", "127.0.0.1:8007"));
  let server = new EchoServer();
  let rc = server.createSocket(addr.host.includes(":") ? AF_INET6 : AF_INET); // "[::1]:8007" listens on IPv6
  if (rc == 0) rc = server.bind(addr.host, addr.port);
  if (rc == 0) rc = server.listen(128);
  if (rc != 0) {
    console.log("echo: cannot listen on " + addr.host + ":" + addr.port.toString() + ": " + errnoName(rc));
    server.close();
    return;
  }
  // the Node runner says where it listens itself; a WASIX runtime does not
  if (WASYNCORE_WASIX) console.log("echo: listening on " + (addr.host.includes(":") ? "[" + addr.host + "]" : addr.host) + ":" + server.localPort().toString());
}

serve(main);
