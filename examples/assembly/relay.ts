// A TCP relay written in AssemblyScript on wasyncore: every client accepted on --listen gets its own
// connection to --upstream, and bytes are copied both ways until either side closes; then what is
// still buffered toward the other side is delivered and both close. An upstream that cannot be
// reached (refused, or outside the runner's --allow-connect grant: EACCES) is reported to the client
// as one line. examples/relay-server.ts line for line: the same bytes on the wire.
// Build: npm run build:servers → build/servers/relay.host.wasm and relay.wasix.wasm.
// Run:   npx wasyncore run build/servers/relay.host.wasm --listen 127.0.0.1:8010 \
//          --allow-connect 127.0.0.1:8007 -- --upstream 127.0.0.1:8007 [--poll]   (--poll: asyncore.loop(use_poll=True) order)
import { Dispatcher, DispatcherWithSend, Socket, serve, argValue, parseHostPort, HostPort, errnoName, AF_INET, AF_INET6 } from "../../assembly/server";

/** Bytes one side buffers toward its peer before the relay stops reading the other side. */
const HIGH_WATER: i32 = 256 * 1024;

let upstream = new HostPort("127.0.0.1", 8007);

function familyOf(host: string): i32 {
  return host.includes(":") ? AF_INET6 : AF_INET;
}

function where(a: HostPort): string {
  return (a.host.includes(":") ? "[" + a.host + "]" : a.host) + ":" + a.port.toString();
}

/** One end of a relayed pair: what it reads goes to its peer's output buffer. */
class Side extends DispatcherWithSend {
  peer: Side | null = null;
  /** Close once outBuffer is delivered (the other side is gone). */
  finishing: bool = false;

  // read only while the peer can take it: a slow reader on one side cannot make the relay buffer without end
  readable(): bool {
    let p = this.peer;
    return p !== null && p.connected && p.outBuffer.length < HIGH_WATER;
  }

  handleRead(): void {
    let data = this.recv(65536);
    let p = this.peer;
    if (data.length > 0 && p !== null) p.send(data);
  }

  handleWrite(): void {
    this.initiateSend();
    if (this.finishing && this.outBuffer.length == 0) this.close();
  }

  /** Delivers what is buffered toward this side, then closes it. */
  finish(): void {
    this.peer = null;
    this.finishing = true;
    if (this.outBuffer.length == 0 || !this.connected) this.close();
  }

  handleClose(): void {
    let p = this.peer;
    this.peer = null;
    this.close();
    if (p !== null) p.finish();
  }
}

/** The relay's connection to the upstream server. */
class Upstream extends Side {
  handleConnect(): void {}

  handleError(errno: i32): void {
    let p = this.peer;
    this.peer = null;
    this.close();
    if (p !== null) {
      p.sendString("relay: cannot reach " + where(upstream) + ": " + errnoName(errno) + "\r\n");
      p.finish();
    }
  }
}

class Relay extends Dispatcher {
  handleAccepted(sock: Socket): void {
    let client = new Side(sock);
    let up = new Upstream();
    client.peer = up;
    up.peer = client;
    let rc = up.createSocket(familyOf(upstream.host));
    if (rc == 0) rc = up.connect(upstream.host, upstream.port);
    if (rc != 0) up.handleError(rc); // known at once (EACCES outside the grant): the same report
  }
}

function main(): void {
  let addr = parseHostPort(argValue("--listen", "127.0.0.1:8010"));
  upstream = parseHostPort(argValue("--upstream", "127.0.0.1:8007"));
  let server = new Relay();
  let rc = server.createSocket(familyOf(addr.host));
  if (rc == 0) rc = server.bind(addr.host, addr.port);
  if (rc == 0) rc = server.listen(128);
  if (rc != 0) {
    console.log("relay: cannot listen on " + where(addr) + ": " + errnoName(rc));
    server.close();
    return;
  }
  console.log("relay: listening on " + where(new HostPort(addr.host, server.localPort())) + ", upstream " + where(upstream));
}

serve(main, process.argv.includes("--poll"));
