// A UDP echo server written in AssemblyScript on wasyncore: every datagram goes back to its sender.
// Build: npm run build:servers → build/servers/udp-echo.host.wasm (Node runner).
// Run:   npx wasyncore run build/servers/udp-echo.host.wasm --listen-udp 127.0.0.1:8007 [-- --use-poll]
// The runner lets a --listen-udp socket reply to whoever sent it a datagram lately; nothing else may
// be sent. A reply the runner cannot take yet (EAGAIN: its send budget or rate) waits here and goes
// out from handleWrite(); while 64 wait, the server stops reading (the runner's queue holds the rest,
// then drops, as a kernel does). Its TypeScript twin on the engine's own API: examples/udp-echo-server.ts.
import { Dispatcher, Datagram, SOCK_DGRAM, AF_INET, AF_INET6, serve, argValue, parseHostPort, errnoName, lastErrno, EAGAIN } from "../../assembly/server";

const MAX_PENDING = 64;

class UdpEcho extends Dispatcher {
  pending: Datagram[] = [];

  handleRead(): void {
    // one datagram per read event, as the TypeScript twin does
    let d: Datagram | null = this.recvfrom(65536);
    if (d === null) {
      if (lastErrno != EAGAIN) this.logInfo("recvfrom: " + errnoName(lastErrno), "error");
      return;
    }
    this.pending.push(d);
    this.handleWrite();
  }

  handleWrite(): void {
    while (this.pending.length > 0) {
      let d = this.pending[0];
      let rc = this.sendto(d.data, d.host, d.port);
      if (rc == -EAGAIN) return; // writable again later: handleWrite() runs then
      if (rc < 0) this.logInfo("sendto " + d.host + ":" + d.port.toString() + ": " + errnoName(-rc), "error");
      this.pending.shift();
    }
  }

  readable(): bool { return this.pending.length < MAX_PENDING; }
  writable(): bool { return this.pending.length > 0; }
}

function main(): void {
  let addr = parseHostPort(argValue("--listen-udp", "127.0.0.1:8007"));
  let server = new UdpEcho();
  let rc = server.createSocket(addr.host.includes(":") ? AF_INET6 : AF_INET, SOCK_DGRAM);
  if (rc == 0) rc = server.bind(addr.host, addr.port);
  if (rc != 0) {
    console.log("udp-echo: cannot bind " + addr.host + ":" + addr.port.toString() + ": " + errnoName(rc));
    server.close();
    return;
  }
  // the Node runner says where it listens itself; a WASIX runtime does not
  if (WASYNCORE_WASIX) console.log("udp-echo: listening on " + addr.host + ":" + server.localPort().toString());
}

// `-- --use-poll`: poll2 dispatch (per channel: read, write, expt) instead of select's order
serve(main, process.argv.includes("--use-poll"));
