// The rest of the stream Socket's surface: options, and urgent data. Where the backends differ the
// test says so: `net` emulates what Node's handles allow (libuv turns SO_REUSEADDR on at bind, options
// Node has no call for are ENOPROTOOPT, urgent data is invisible); `native` shows the kernel's answer.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, execFileSync } from "node:child_process";
import * as os from "node:os";
import {
  Socket, SocketError, Dispatcher, ChannelMap, loop, AF_INET, AF_UNIX, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR,
  SO_ERROR, SO_KEEPALIVE, SO_BROADCAST, SO_RCVBUF, IPPROTO_TCP, TCP_NODELAY, MSG_OOB, type NativeSocket,
} from "../../host/index.js";
import { currentBackend } from "../../host/socket/backend.js";
import { code, missing, onBackend } from "../support/index.js";

const NATIVE = currentBackend() === "native";

const opened: Socket[] = [];
function tcp(family = AF_INET): Socket {
  const s = new Socket(family, SOCK_STREAM);
  opened.push(s);
  return s;
}
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** Retries `fn` while it throws EAGAIN (the loopback peer has not answered yet). */
async function eventually<T>(fn: () => T): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try { return fn(); } catch (err) {
      if ((err as SocketError).code !== "EAGAIN" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}


describe("stream Socket options", () => {
  it.skipIf(onBackend("native", "`SO_REUSEADDR`"))("reports SO_REUSEADDR as libuv sets it (net): off on a fresh socket, on once bound", () => {
    const s = tcp();
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
    s.bind(["127.0.0.1", 0]);
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(1);
  });

  it.skipIf(onBackend("net", "`SO_REUSEADDR`"))("reports SO_REUSEADDR as the kernel has it (native): off until set, a plain bind leaves it off", () => {
    const s = tcp();
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
    s.bind(["127.0.0.1", 0]);
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(1);
  });

  it("keeps TCP_NODELAY and SO_KEEPALIVE as set (Node's defaults are off)", () => {
    const s = tcp();
    expect(s.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
    expect(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE)).toBe(0);
    s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, true);
    expect(s.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    expect(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
  });

  it("passes TCP_NODELAY and SO_KEEPALIVE from a listener to the sockets it accepts, as Linux does", async () => {
    const l = tcp();
    l.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    l.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
    l.bind(["127.0.0.1", 0]);
    l.listen(5);
    const c = tcp();
    c.connect(l.getsockname());
    const pair = await eventually(() => l.accept());
    opened.push(pair[0]);
    expect(pair[0].getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    expect(pair[0].getsockopt(SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
    expect(c.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
  });

  it("sends with sendto() on a connected stream (the address is ignored, as Linux does) and names the peer in recvfrom()", async () => {
    const l = tcp();
    l.bind(["127.0.0.1", 0]);
    l.listen(5);
    const c = tcp();
    expect(code(() => c.sendto(Buffer.from("x"), l.getsockname()))).toBe("EPIPE");
    c.connect(l.getsockname());
    const [server, peer] = await eventually(() => l.accept());
    opened.push(server);
    await eventually(() => c.sendto(Buffer.from("hi"), ["127.0.0.1", 9]));
    const [data, from] = await eventually(() => server.recvfrom(10));
    expect(data.toString()).toBe("hi");
    expect(from).toEqual(peer);
  });

  it("refuses TCP_NODELAY on a Unix socket with errno EOPNOTSUPP (95, which Python names ENOTSUP), as Linux does", () => {
    const u = tcp(AF_UNIX);
    // net names it EOPNOTSUPP; native reports the kernel's errno, named as Python's errno.errorcode does
    expect(code(() => u.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1))).toBe(NATIVE ? "ENOTSUP" : "EOPNOTSUPP");
    expect(os.constants.errno.EOPNOTSUPP).toBe(95);
    u.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
    expect(u.getsockopt(SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
  });

  it.skipIf(onBackend("native", "options"))("throws ENOPROTOOPT for options Node cannot set on a stream (net), and for writing SO_ERROR", () => {
    const s = tcp();
    expect(code(() => s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1))).toBe("ENOPROTOOPT");
    expect(code(() => s.getsockopt(SOL_SOCKET, SO_RCVBUF))).toBe("ENOPROTOOPT");
    expect(code(() => s.setsockopt(999, 1, 1))).toBe("ENOPROTOOPT");
    expect(code(() => s.setsockopt(SOL_SOCKET, SO_ERROR, 0))).toBe("ENOPROTOOPT");
    expect(() => s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1.5)).toThrow(/setsockopt\(\): value must be an integer, got 1.5/);
  });

  it.skipIf(onBackend("net", "options"))("sets any int option through the kernel (native); an unknown level and writing SO_ERROR are ENOPROTOOPT", () => {
    const s = tcp();
    s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1); // Linux accepts it on a TCP socket, as CPython shows
    expect(s.getsockopt(SOL_SOCKET, SO_BROADCAST)).toBe(1);
    expect(s.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBeGreaterThan(0);
    expect(code(() => s.setsockopt(999, 1, 1))).toBe("ENOPROTOOPT");
    expect(code(() => s.setsockopt(SOL_SOCKET, SO_ERROR, 0))).toBe("ENOPROTOOPT");
    expect(() => s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1.5)).toThrow(/setsockopt\(\): value must be an integer, got 1.5/);
  });

  it("reports a refused connect through SO_ERROR", async () => {
    const gone = tcp();
    gone.bind(["127.0.0.1", 0]);
    const addr = gone.getsockname();
    gone.close();
    const s = tcp();
    s.connect(addr);
    const deadline = Date.now() + 5000;
    while (s.getsockopt(SOL_SOCKET, SO_ERROR) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(s.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(os.constants.errno.ECONNREFUSED);
  });
});

let hasPython = true;
try { execFileSync("python3", ["-c", "import socket"], { stdio: "ignore" }); } catch { hasPython = false; }

describe.skipIf(missing("python3", !hasPython))("urgent data (MSG_OOB)", () => {
  it(NATIVE
    ? "reaches handleExpt once (native), which reads the urgent byte with MSG_OOB; the stream keeps the rest"
    : "never reaches handleExpt (net): Node cannot see urgent data, and the urgent byte is not delivered", async () => {
    const py = spawn("python3", ["-c", [
      "import socket, time",
      "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()",
      "print(l.getsockname()[1], flush=True)",
      "c, _ = l.accept()",
      "c.send(b'ab'); time.sleep(0.05); c.send(b'X', socket.MSG_OOB); time.sleep(0.05); c.send(b'cd'); time.sleep(0.05); c.close()",
    ].join("\n")], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<number>((r) => py.stdout!.once("data", (d) => r(Number(String(d).trim()))));
    const map = new ChannelMap();
    const calls: string[] = [];
    let got = "", urgent = "";
    class Client extends Dispatcher {
      override writable(): boolean { return !this.connected; }
      override handleConnect(): void { calls.push("handleConnect"); }
      override handleRead(): void { got += this.recv(100).toString("latin1"); }
      override handleExpt(): void {
        calls.push("handleExpt");
        urgent += (this.socket as NativeSocket).recv(1, MSG_OOB).toString("latin1");
      }
      override handleClose(): void { calls.push("handleClose"); this.close(); }
    }
    const c = new Client(null, map);
    c.createSocket(AF_INET, SOCK_STREAM);
    c.connect(["127.0.0.1", port]);
    await loop({ map, timeout: 1 });
    py.kill();
    expect(got).toBe("abcd"); // Linux removes the urgent byte from the stream (no SO_OOBINLINE on Node)
    if (NATIVE) {
      expect(urgent).toBe("X");
      expect(calls).toEqual(["handleConnect", "handleExpt", "handleClose"]);
    } else {
      expect(urgent).toBe("");
      expect(calls).toEqual(["handleConnect", "handleClose"]);
    }
  });
});

