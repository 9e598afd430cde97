// SocketError as Node's system errors: code, errno (positive POSIX or undefined), syscall, address, port.
import { constants as osConstants } from "node:os";
import { describe, it, expect, afterEach } from "vitest";
import { AF_INET, AF_UNIX, ChannelMap, Dispatcher, Socket, SocketError, closeAll, loop } from "../../host/index.js";
import { unixPath } from "./fixtures.js";

const E = osConstants.errno;

describe("SocketError", () => {
  const map = new ChannelMap();
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("has the positive POSIX errno for a code that has one, and says it in the message", () => {
    const e = new SocketError("ECONNRESET");
    expect(e.errno).toBe(E.ECONNRESET);
    expect(e.errno).toBeGreaterThan(0);
    expect(e.message).toBe(`[Errno ${E.ECONNRESET}] Connection reset by peer (ECONNRESET)`);
  });

  it("has errno undefined for ENOTFOUND and EAI_AGAIN (no POSIX number)", () => {
    for (const code of ["ENOTFOUND", "EAI_AGAIN"]) {
      const e = new SocketError(code, `getaddrinfo(${code})`);
      expect(e.errno).toBeUndefined();
      expect(e.code).toBe(code);
      expect(e.message).not.toMatch(/Errno/);
      expect(e.syscall).toBe("getaddrinfo");
    }
  });

  it("takes syscall from a context that starts with the call, and details from its third argument", () => {
    expect(new SocketError("EINVAL", "listen(): socket is closed").syscall).toBe("listen");
    expect(new SocketError("EINVAL", "the socket is closed").syscall).toBeUndefined();
    const e = new SocketError("EACCES", "x", { syscall: "bind", address: "::1", port: 80 });
    expect([e.syscall, e.address, e.port]).toEqual(["bind", "::1", 80]);
  });

  it("names syscall, address and port when bind() finds the address in use", () => {
    const a = new Socket(AF_INET);
    a.bind(["127.0.0.1", 0]);
    a.listen(1);
    const port = (a.getsockname() as [string, number])[1];
    const b = new Socket(AF_INET);
    let caught: unknown;
    try {
      b.bind(["127.0.0.1", port]);
      b.listen(1); // net: libuv may report EADDRINUSE at listen
    } catch (err) {
      caught = err;
    } finally {
      a.close();
      b.close();
    }
    expect(caught).toBeInstanceOf(SocketError);
    const e = caught as SocketError;
    expect(e.code).toBe("EADDRINUSE");
    expect(e.errno).toBe(E.EADDRINUSE);
    expect(["bind", "listen"]).toContain(e.syscall);
    if (e.syscall === "bind") expect([e.address, e.port]).toEqual(["127.0.0.1", port]);
  });

  it("names the Unix path when connect() finds none", () => {
    const s = new Socket(AF_UNIX);
    const path = unixPath();
    let caught: unknown;
    try {
      s.connect(path);
    } catch (err) {
      caught = err;
    } finally {
      s.close();
    }
    const e = caught as SocketError;
    expect(e).toBeInstanceOf(SocketError);
    expect([e.code, e.errno, e.syscall, e.address, e.port]).toEqual(["ENOENT", E.ENOENT, "connect", path, undefined]);
  });

  it("reaches handleError with syscall 'connect', the address and the port when a connect is refused", async () => {
    // a port nobody listens on: bind one, note it, close it
    const probe = new Socket(AF_INET);
    probe.bind(["127.0.0.1", 0]);
    const port = (probe.getsockname() as [string, number])[1];
    probe.close();
    const errors: unknown[] = [];
    const client = new (class extends Dispatcher {
      override handleConnect(): void {}
      override handleError(err: unknown): void { errors.push(err); this.close(); }
    })(null, map);
    client.createSocket(AF_INET);
    client.connect(["127.0.0.1", port]);
    await loop({ map, timeout: 0.05, count: 400 });
    expect(errors).toHaveLength(1);
    const e = errors[0] as SocketError;
    expect(e).toBeInstanceOf(SocketError);
    expect([e.code, e.errno, e.syscall, e.address, e.port]).toEqual(["ECONNREFUSED", E.ECONNREFUSED, "connect", "127.0.0.1", port]);
  });

  it("reaches handleError with errno undefined when a host name does not resolve", async () => {
    const errors: unknown[] = [];
    const client = new (class extends Dispatcher {
      override handleConnect(): void {}
      override handleError(err: unknown): void { errors.push(err); this.close(); }
    })(null, map);
    client.createSocket(AF_INET);
    client.connect(["wasyncore-test.invalid", 80]);
    for (let i = 0; i < 200 && errors.length === 0; i++) await loop({ map, timeout: 0.1, count: 1 });
    expect(errors).toHaveLength(1);
    const e = errors[0] as SocketError;
    expect(e).toBeInstanceOf(SocketError);
    expect(["ENOTFOUND", "EAI_AGAIN"]).toContain(e.code);
    expect(e.errno).toBeUndefined();
    expect([e.syscall, e.address, e.port]).toEqual(["connect", "wasyncore-test.invalid", 80]);
  });
});
