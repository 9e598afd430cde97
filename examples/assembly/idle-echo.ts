// An echo server that hangs up on connections idle for too long, written in AssemblyScript:
// examples/idle-echo-server.ts line for line — the engine's timers inside the module.
// Each connection gets an idle timeout; a byte in either direction restarts its countdown.
// A callEvery() prints statistics; its timer keeps the module running even with no connection.
// Build: npm run build:servers → build/servers/idle-echo.host.wasm and idle-echo.wasix.wasm.
// Run:   npx wasyncore run build/servers/idle-echo.host.wasm --listen 127.0.0.1:8007 [-- --idle SECONDS]
import { Dispatcher, DispatcherWithSend, Socket, TimerHandle, serve, callEvery, loopStats, argValue, parseHostPort, errnoName } from "../../assembly/server";

let idleSeconds: f64 = 10;

class EchoHandler extends DispatcherWithSend {
  constructor(sock: Socket) {
    super(sock);
    this.setIdleTimeout(idleSeconds); // handleIdle() after idleSeconds of silence both ways
  }

  handleRead(): void {
    let data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }

  handleIdle(): void {
    this.sendString("idle timeout, bye\n"); // close() still delivers what send() took
    this.close();
  }

  handleClose(): void { this.close(); }
}

class EchoServer extends Dispatcher {
  handleAccepted(sock: Socket): void {
    new EchoHandler(sock);
  }
}

/** A number as JavaScript prints it (10, not AssemblyScript's 10.0). */
function num(x: f64): string {
  return x == Math.floor(x) && Math.abs(x) < 9007199254740992 ? (<i64>x).toString() : x.toString();
}

function report(timer: TimerHandle): void {
  let s = loopStats();
  console.log(s.connected.toString() + " connected, " + num(s.bytesIn) + " bytes in, " + num(s.bytesOut) + " bytes out, " + s.timersPending.toString() + " timers");
}

function main(): void {
  idleSeconds = parseFloat(argValue("--idle", "10"));
  let addr = parseHostPort(argValue("--listen", "127.0.0.1:8007"));
  let server = new EchoServer();
  let rc = server.createSocket();
  if (rc == 0) rc = server.bind(addr.host, addr.port);
  if (rc == 0) rc = server.listen(64);
  if (rc != 0) {
    console.log("idle-echo: cannot listen on " + addr.host + ":" + addr.port.toString() + ": " + errnoName(rc));
    server.close();
    return;
  }
  console.log("listening on " + addr.host + ":" + server.localPort().toString() + ", closing connections idle for " + num(idleSeconds) + " s");
  callEvery(10, report);
}

serve(main);
