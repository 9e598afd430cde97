// README "Differences", `getsockopt(SO_ERROR)`: a stream socket's error reads the same until close (it is
// also the channel's readiness); a datagram socket's reads and clears, as the kernel and CPython do.
import { describe, it, expect, afterEach } from "vitest";
import { constants as osConstants } from "node:os";
import { AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_ERROR, Socket } from "../../host/index.js";
import { BACKEND, until } from "../support/index.js";

const opened: Socket[] = [];
const sock = (type?: number): Socket => { const s = type === undefined ? new Socket(AF_INET) : new Socket(AF_INET, type); opened.push(s); return s; };
afterEach(() => { for (const s of opened.splice(0)) s.close(); });

/** A loopback port nobody listens on (bound, then closed). */
function closedPort(type?: number): number {
  const s = type === undefined ? new Socket(AF_INET) : new Socket(AF_INET, type);
  s.bind(["127.0.0.1", 0]);
  const port = (s.getsockname() as [string, number])[1];
  s.close();
  return port;
}

describe(`getsockopt(SO_ERROR) (${BACKEND})`, () => {
  it("on a stream socket: a refused connect's error reads the same every time until close", async () => {
    const s = sock();
    expect(s.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0);
    s.connect(["127.0.0.1", closedPort()]);
    let errno = 0;
    await until(() => (errno = s.getsockopt(SOL_SOCKET, SO_ERROR)) !== 0, 5000, "SO_ERROR");
    expect(errno).toBe(osConstants.errno.ECONNREFUSED);
    for (let i = 0; i < 3; i++) expect(s.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(osConstants.errno.ECONNREFUSED);
  });

  it("on a datagram socket: reading clears it (ICMP port unreachable, then 0)", async () => {
    const s = sock(SOCK_DGRAM);
    s.connect(["127.0.0.1", closedPort(SOCK_DGRAM)]);
    s.send(Buffer.from("anyone?"));
    let errno = 0;
    await until(() => (errno = s.getsockopt(SOL_SOCKET, SO_ERROR)) !== 0, 5000, "SO_ERROR");
    expect(errno).toBe(osConstants.errno.ECONNREFUSED);
    expect(s.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0);
  });
});
