// Datagram sockets at the Socket level (no loop), as Python tests use socket.socket directly.
import { describe, it, expect, afterEach } from "vitest";
import {
  Socket, AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_ERROR,
  SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE, IPPROTO_TCP, TCP_NODELAY,
} from "../../host/index.js";
import { constants as osConstants } from "node:os";
import { families, eventually, until } from "./util.js";
import { currentBackend } from "../../host/socket/backend.js";
import { code, onBackend } from "../support/index.js";

const NATIVE = currentBackend() === "native";

const opened: Socket[] = [];
function udp(family: number): Socket {
  const s = new Socket(family, SOCK_DGRAM);
  opened.push(s);
  return s;
}
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});


describe.each(families)("datagram Socket over $name", ({ family, host, any }) => {
  it("binds synchronously: getsockname() has the port on the next line", () => {
    const s = udp(family);
    expect(s.getsockname()).toEqual(any);
    s.bind([host, 0]);
    const name = s.getsockname();
    expect(name[0]).toBe(host);
    expect(name[1]).toBeGreaterThan(0);
    expect(s.type).toBe(SOCK_DGRAM);
  });

  it("throws EADDRINUSE from bind() when the port is taken, and shares it under SO_REUSEADDR", () => {
    const a = udp(family);
    a.bind([host, 0]);
    const port = a.getsockname()[1] as number;
    expect(code(() => udp(family).bind([host, port]))).toBe("EADDRINUSE");
    const c = udp(family);
    c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    c.bind([host, 0]);
    const d = udp(family);
    d.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    expect(d.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(1);
    d.bind([host, c.getsockname()[1] as number]);
    expect(d.getsockname()[1]).toBe(c.getsockname()[1]);
  });

  it("rejects a second bind() with EINVAL", () => {
    const s = udp(family);
    s.bind([host, 0]);
    expect(code(() => s.bind([host, 0]))).toBe("EINVAL");
  });

  it("delivers a datagram whole with its source address, and an unbound sender is bound by its first sendto()", async () => {
    const rx = udp(family);
    rx.bind([host, 0]);
    const tx = udp(family);
    expect(tx.sendto(Buffer.from("hello datagram"), rx.getsockname())).toBe(14);
    expect(tx.getsockname()[1]).toBeGreaterThan(0);
    const [data, from] = await eventually(() => rx.recvfrom(100));
    expect(data.toString()).toBe("hello datagram");
    expect(from[1]).toBe(tx.getsockname()[1]);
    expect(code(() => rx.recvfrom(100))).toBe("EAGAIN");
  });

  it("recvfrom(n) returns the first n bytes of one datagram and discards the rest", async () => {
    const rx = udp(family);
    rx.bind([host, 0]);
    const tx = udp(family);
    tx.sendto(Buffer.from("0123456789"), rx.getsockname());
    tx.sendto(Buffer.from("abc"), rx.getsockname());
    const [first] = await eventually(() => rx.recvfrom(4));
    expect(first.toString()).toBe("0123");
    const [second] = await eventually(() => rx.recvfrom(100));
    expect(second.toString()).toBe("abc");
  });

  it("delivers an empty datagram as an empty Buffer", async () => {
    const rx = udp(family);
    rx.bind([host, 0]);
    const tx = udp(family);
    expect(tx.sendto(Buffer.alloc(0), rx.getsockname())).toBe(0);
    const [data, from] = await eventually(() => rx.recvfrom(10));
    expect(data.length).toBe(0);
    expect(from[0]).toBe(host);
  });

  it("connects synchronously: send()/recv() talk to the peer, getpeername() names it", async () => {
    const a = udp(family);
    a.bind([host, 0]);
    const b = udp(family);
    expect(code(() => b.getpeername())).toBe("ENOTCONN");
    expect(code(() => b.send(Buffer.from("x")))).toBe("EDESTADDRREQ");
    b.connect(a.getsockname());
    expect(b.getpeername()).toEqual(a.getsockname());
    expect(b.getsockname()[1]).toBeGreaterThan(0);
    expect(b.send(Buffer.from("ping"))).toBe(4);
    const [ping, from] = await eventually(() => a.recvfrom(10));
    expect(ping.toString()).toBe("ping");
    a.sendto(Buffer.from("pong"), from);
    expect((await eventually(() => b.recv(10))).toString()).toBe("pong");
    // the connected peer may still be named; another destination is refused by libuv (net), sent
    // to by Linux (native, as CPython)
    expect(b.sendto(Buffer.from("again"), a.getsockname())).toBe(5);
    if (NATIVE) {
      const c = udp(family);
      c.bind([host, 0]);
      expect(b.sendto(Buffer.from("elsewhere"), c.getsockname())).toBe(9);
      expect((await eventually(() => c.recvfrom(20)))[0].toString()).toBe("elsewhere");
    } else expect(code(() => b.sendto(Buffer.from("x"), [host, 9]))).toBe("EISCONN");
  });

  it("reports ICMP port unreachable on a connected socket once, as ECONNREFUSED", async () => {
    const gone = udp(family);
    gone.bind([host, 0]);
    const port = gone.getsockname()[1] as number;
    gone.close();
    const s = udp(family);
    s.connect([host, port]);
    s.send(Buffer.from("anyone?"));
    let errno = 0;
    await until(() => (errno = s.getsockopt(SOL_SOCKET, SO_ERROR)) !== 0, 5000, "SO_ERROR");
    expect(errno).toBe(osConstants.errno.ECONNREFUSED);
    expect(s.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0); // reading SO_ERROR cleared it
    s.send(Buffer.from("anyone?"));
    let seen = "";
    await until(() => (seen = code(() => s.recv(10))) !== "EAGAIN", 5000, "recv() error");
    expect(seen).toBe("ECONNREFUSED");
    expect(code(() => s.recv(10))).toBe("EAGAIN");
  });

  it("rejects an oversized datagram with EMSGSIZE", () => {
    const s = udp(family);
    const limit = family === AF_INET ? 65507 : 65527;
    expect(code(() => s.sendto(Buffer.alloc(limit + 1), [host, 9]))).toBe("EMSGSIZE");
  });

  it("names the bad argument: missing address, string data, wrong shapes, host names", () => {
    const s = udp(family);
    // @ts-expect-error: the address is required
    expect(() => s.sendto(Buffer.from("x"))).toThrow(/sendto\(\): address is required/);
    // @ts-expect-error: data must be bytes
    expect(() => s.sendto("x", [host, 9])).toThrow(TypeError);
    // @ts-expect-error: a tuple, not an object
    expect(() => s.sendto(Buffer.from("x"), { host, port: 9 })).toThrow(/sendto\(\): address must be a \[host, port\]/);
    // @ts-expect-error: a port is required
    expect(() => s.sendto(Buffer.from("x"), [host])).toThrow(TypeError);
    expect(() => s.sendto(Buffer.from("x"), [host, 70000])).toThrow(RangeError);
    expect(() => s.sendto(Buffer.from("x"), ["example.invalid", 9])).toThrow(/resolve "example.invalid" first/);
    const other = family === AF_INET ? "::1" : "127.0.0.1";
    expect(() => s.sendto(Buffer.from("x"), [other, 9])).toThrow(/is not an IPv[46] address/);
    expect(() => s.recvfrom(-1)).toThrow(RangeError);
  });

  it("is not a stream: listen() and accept() throw EOPNOTSUPP", () => {
    const s = udp(family);
    s.bind([host, 0]);
    expect(code(() => s.listen(5))).toBe("EOPNOTSUPP");
    expect(code(() => s.accept())).toBe("EOPNOTSUPP");
  });

  it("supports SO_BROADCAST, SO_RCVBUF and SO_SNDBUF, and refuses TCP options with ENOPROTOOPT", () => {
    const s = udp(family);
    expect(s.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBeGreaterThan(0);
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 18);
    s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    s.bind([host, 0]);
    expect(s.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBeGreaterThanOrEqual(1 << 18); // Linux doubles it
    s.setsockopt(SOL_SOCKET, SO_SNDBUF, 1 << 17);
    expect(s.getsockopt(SOL_SOCKET, SO_SNDBUF)).toBeGreaterThanOrEqual(1 << 17);
    expect(s.getsockopt(SOL_SOCKET, SO_BROADCAST)).toBe(1);
    s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1); // meaningless on UDP, allowed as on Linux
    expect(code(() => s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1))).toBe("ENOPROTOOPT");
    // native, as CPython: the kernel's answer (Linux: EOPNOTSUPP on a UDP socket, ENOPROTOOPT on UDPv6)
    const want = NATIVE && family === AF_INET ? /^(EOPNOTSUPP|ENOTSUP)$/ : /^ENOPROTOOPT$/;
    expect(code(() => s.getsockopt(IPPROTO_TCP, TCP_NODELAY))).toMatch(want);
    expect(code(() => s.setsockopt(SOL_SOCKET, SO_ERROR, 1))).toBe("ENOPROTOOPT");
  });

  it("throws EBADF on use after close, and close() is idempotent", () => {
    const s = udp(family);
    s.bind([host, 0]);
    s.close();
    s.close();
    expect(s.fileno()).toBe(-1);
    expect(code(() => s.sendto(Buffer.from("x"), [host, 9]))).toBe("EBADF");
    expect(code(() => s.recvfrom(1))).toBe("EBADF");
  });
});

describe("datagram Socket construction", () => {
  it.skipIf(onBackend("native", "`Socket(AF_UNIX, SOCK_DGRAM)`"))("refuses AF_UNIX datagrams with EAFNOSUPPORT on the net backend (Node has none)", () => {
    expect(code(() => new Socket(AF_UNIX, SOCK_DGRAM))).toBe("EAFNOSUPPORT");
  });

  it.skipIf(onBackend("net", "`Socket(AF_UNIX, SOCK_DGRAM)`"))("makes AF_UNIX datagram sockets on the native backend", () => {
    const s = new Socket(AF_UNIX, SOCK_DGRAM);
    expect(s.type).toBe(SOCK_DGRAM);
    expect(s.getsockname()).toBe("");
    s.close();
  });

  it("refuses an unknown type with a TypeError naming it", () => {
    expect(() => new Socket(AF_INET6, 5)).toThrow(/type must be SOCK_STREAM or SOCK_DGRAM, got 5/);
  });
});
