// The addon itself (native/*.c): it builds, loads, and its syscalls say what the kernel says.
import { describe, it, expect } from "vitest";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR } from "../../host/index.js";
import { missing } from "../support/index.js";

const addon = native();

describe.skipIf(missing("the native addon", addon === null))(`the native addon${addon === null ? ` (skipped: ${nativeUnavailable()})` : ""}`, () => {
  const a = addon!;

  it("binds synchronously and reports EADDRINUSE from bind() itself", () => {
    const s1 = a.socket(AF_INET, SOCK_STREAM);
    const s2 = a.socket(AF_INET, SOCK_STREAM);
    try {
      expect(s1).toBeGreaterThan(2);
      expect(a.bind(s1, AF_INET, "127.0.0.1", 0, 0)).toBe(0);
      expect(a.listen(s1, 5)).toBe(0);
      const [host, port] = a.sockname(s1) as [string, number];
      expect(host).toBe("127.0.0.1");
      expect(port).toBeGreaterThan(0);
      expect(a.bind(s2, AF_INET, "127.0.0.1", port, 0)).toBe(-98); // -EADDRINUSE
    } finally {
      a.close(s1);
      a.close(s2);
    }
  });

  it("reports SO_REUSEADDR as the kernel has it: off on a fresh socket, on once set", () => {
    const s = a.socket(AF_INET, SOCK_STREAM);
    try {
      expect(a.getsockopt(s, SOL_SOCKET, SO_REUSEADDR)).toBe(0);
      expect(a.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1)).toBe(0);
      expect(a.getsockopt(s, SOL_SOCKET, SO_REUSEADDR)).toBe(1);
    } finally {
      a.close(s);
    }
  });

  it("throws an Error whose code is the errno when getsockopt fails", () => {
    expect(() => a.getsockopt(1_000_000, SOL_SOCKET, SO_REUSEADDR)).toThrow(expect.objectContaining({ code: "9" })); // EBADF
  });

  it("sends and receives datagrams with their addresses (sendto/recvfrom), IPv4 and IPv6", () => {
    for (const [family, host] of [[AF_INET, "127.0.0.1"], [AF_INET6, "::1"]] as const) {
      const r = a.socket(family, SOCK_DGRAM);
      const s = a.socket(family, SOCK_DGRAM);
      try {
        expect(a.bind(r, family, host, 0, 0)).toBe(0);
        expect(a.bind(s, family, host, 0, 0)).toBe(0);
        const [, port] = a.sockname(r) as [string, number];
        expect(a.sendto(s, Buffer.from("datagram"), 0, 8, 0, family, host, port, 0)).toBe(8);
        const buf = new Uint8Array(64);
        let got: ReturnType<typeof a.recvfrom> = -11;
        for (let i = 0; i < 1000 && got === -11; i++) got = a.recvfrom(r, buf, 0, 64, 0); // -EAGAIN until it lands
        expect(got).toEqual([8, a.sockname(s)]);
        expect(Buffer.from(buf.subarray(0, 8)).toString()).toBe("datagram");
      } finally {
        a.close(r);
        a.close(s);
      }
    }
  });

  it("refuses a region outside the buffer with a RangeError, before any syscall", () => {
    const s = a.socket(AF_INET, SOCK_STREAM);
    try {
      expect(() => a.recv(s, new Uint8Array(8), 4, 5, 0)).toThrow(RangeError);
      expect(() => a.send(s, new ArrayBuffer(8), -1, 1, 0)).toThrow(RangeError);
      expect(a.recv(s, new Uint8Array(8), 0, 8, 0)).toBe(-107); // -ENOTCONN: the kernel was asked
    } finally {
      a.close(s);
    }
  });
});
