// The socket option constants users reach for (issue 14, SPEC "More names"): SO_OOBINLINE,
// SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, with Linux's values
// (those of CPython's socket module here). `native` passes them to the kernel: setsockopt/getsockopt
// round trips; `net` cannot set them: SocketError ENOPROTOOPT.
import { describe, it, expect, afterEach } from "vitest";
import { execFileSync } from "node:child_process";
import {
  Socket, SocketError, AF_INET, AF_INET6, SOCK_STREAM, SOL_SOCKET, IPPROTO_TCP,
  SO_OOBINLINE, SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
} from "../../host/index.js";
import { currentBackend } from "../../host/socket/backend.js";
import { missing, onBackend } from "../support/index.js";

const NATIVE = currentBackend() === "native";
const NAMES = ["SO_OOBINLINE", "SO_LINGER", "SO_RCVLOWAT", "SO_SNDLOWAT", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT"] as const;
const OURS: Record<(typeof NAMES)[number], number> = { SO_OOBINLINE, SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT };

let python: Record<string, number> | null = null;
try {
  python = JSON.parse(execFileSync("python3", ["-c", `import socket, json; print(json.dumps({n: getattr(socket, n) for n in ${JSON.stringify(NAMES)}}))`], { encoding: "utf8" }));
} catch {
  python = null;
}

const opened: Socket[] = [];
function tcp(family: number): Socket {
  const s = new Socket(family, SOCK_STREAM);
  opened.push(s);
  return s;
}
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

function thrown(fn: () => unknown): SocketError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SocketError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("socket option constants", () => {
  it("have Linux's values", () => {
    expect(OURS).toEqual({ SO_OOBINLINE: 10, SO_LINGER: 13, SO_RCVLOWAT: 18, SO_SNDLOWAT: 19, TCP_KEEPIDLE: 4, TCP_KEEPINTVL: 5, TCP_KEEPCNT: 6 });
  });

  it.skipIf(missing("Linux", process.platform !== "linux") || missing("python3", python === null))("equal CPython's socket module's", () => {
    expect(OURS).toEqual(python);
  });

  describe.each([{ name: "AF_INET", family: AF_INET }, { name: "AF_INET6", family: AF_INET6 }])("on a $name stream socket", ({ family }) => {
    it.skipIf(onBackend("net", "options"))("native: round trips through setsockopt(2)/getsockopt(2)", () => {
      const s = tcp(family);
      const trips: [number, number, number][] = [
        [SOL_SOCKET, SO_OOBINLINE, 1], [SOL_SOCKET, SO_RCVLOWAT, 100],
        [IPPROTO_TCP, TCP_KEEPIDLE, 30], [IPPROTO_TCP, TCP_KEEPINTVL, 7], [IPPROTO_TCP, TCP_KEEPCNT, 3],
      ];
      for (const [level, option, value] of trips) {
        const before = s.getsockopt(level, option);
        expect(before).not.toBe(value); // the kernel's default differs: the round trip is not vacuous
        s.setsockopt(level, option, value);
        expect([option, s.getsockopt(level, option)]).toEqual([option, value]);
      }
      s.setsockopt(SOL_SOCKET, SO_OOBINLINE, false);
      expect(s.getsockopt(SOL_SOCKET, SO_OOBINLINE)).toBe(0);
      // Linux: SO_SNDLOWAT reads 1 and cannot be set; SO_LINGER is a struct linger, not an int
      expect(s.getsockopt(SOL_SOCKET, SO_SNDLOWAT)).toBe(1);
      expect(thrown(() => s.setsockopt(SOL_SOCKET, SO_SNDLOWAT, 10)).code).toBe("ENOPROTOOPT");
      expect(s.getsockopt(SOL_SOCKET, SO_LINGER)).toBe(0); // its first int: l_onoff
      expect(thrown(() => s.setsockopt(SOL_SOCKET, SO_LINGER, 1)).code).toBe("EINVAL");
      // and bad values are the kernel's to refuse
      expect(thrown(() => s.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, 0)).code).toBe("EINVAL");
    });

    it.skipIf(onBackend("native", "options"))("net: setting or reading one throws ENOPROTOOPT", () => {
      const s = tcp(family);
      for (const [level, option] of [[SOL_SOCKET, SO_OOBINLINE], [SOL_SOCKET, SO_LINGER], [SOL_SOCKET, SO_RCVLOWAT],
        [SOL_SOCKET, SO_SNDLOWAT], [IPPROTO_TCP, TCP_KEEPIDLE], [IPPROTO_TCP, TCP_KEEPINTVL], [IPPROTO_TCP, TCP_KEEPCNT]]) {
        const set = thrown(() => s.setsockopt(level, option, 1));
        expect([option, set.code]).toEqual([option, "ENOPROTOOPT"]);
        expect([option, thrown(() => s.getsockopt(level, option)).code]).toEqual([option, "ENOPROTOOPT"]);
      }
    });
  });
});
