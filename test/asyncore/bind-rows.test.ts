// README "Differences": two binds of one port before `listen()`, and the AF_UNIX path after close, on each backend.
import { describe, it, expect, afterEach } from "vitest";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AF_INET, AF_UNIX, Socket } from "../../host/index.js";
import { code, onBackend } from "../support/index.js";

const opened: Socket[] = [];
const tcp = (family = AF_INET): Socket => { const s = new Socket(family); opened.push(s); return s; };
const dirs: string[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("two binds of one port before listen()", () => {
  it.skipIf(onBackend("native", "two binds of one port before `listen()`") || onBackend("net-public", "`net` without `process.binding`"))("net: the second bind succeeds and its listen() fails with EADDRINUSE; a bind after a listener fails at once", () => {
    const a = tcp();
    a.bind(["127.0.0.1", 0]);
    const port = (a.getsockname() as [string, number])[1];
    const b = tcp();
    expect(code(() => b.bind(["127.0.0.1", port]))).toBe("no error");
    a.listen(5);
    expect(code(() => b.listen(5))).toBe("EADDRINUSE");
    const c = tcp();
    expect(code(() => c.bind(["127.0.0.1", port]))).toBe("EADDRINUSE");
  });

  it.skipIf(onBackend("native", "two binds of one port before `listen()`") || !onBackend("net-public", "`net` without `process.binding`"))("net without process.binding: bind() only checks the address; listen() binds, and the second fails there", () => {
    const a = tcp();
    a.bind(["127.0.0.1", 0]);
    expect((a.getsockname() as [string, number])[1]).toBe(0); // not bound yet
    a.listen(5);
    const port = (a.getsockname() as [string, number])[1];
    expect(port).toBeGreaterThan(0);
    const b = tcp();
    expect(code(() => b.bind(["127.0.0.1", port]))).toBe("no error");
    expect(code(() => b.listen(5))).toBe("EADDRINUSE");
  });

  it.skipIf(onBackend("net", "two binds of one port before `listen()`"))("native: the second bind fails at once with EADDRINUSE", () => {
    const a = tcp();
    a.bind(["127.0.0.1", 0]);
    const port = (a.getsockname() as [string, number])[1];
    const b = tcp();
    expect(code(() => b.bind(["127.0.0.1", port]))).toBe("EADDRINUSE");
    a.listen(5);
    expect(code(() => tcp().bind(["127.0.0.1", port]))).toBe("EADDRINUSE");
  });
});

describe("an AF_UNIX listener's path after close()", () => {
  function listenOn(): string {
    const dir = mkdtempSync(join(tmpdir(), "wasyncore-unix-"));
    dirs.push(dir);
    const path = join(dir, "sock");
    const s = new Socket(AF_UNIX);
    s.bind(path);
    s.listen(5);
    expect(existsSync(path)).toBe(true);
    s.close();
    return path;
  }

  it.skipIf(onBackend("native", "AF_UNIX path"))("net: libuv unlinks it", () => {
    expect(existsSync(listenOn())).toBe(false);
  });

  it.skipIf(onBackend("net", "AF_UNIX path"))("native: it stays, as in CPython", () => {
    expect(existsSync(listenOn())).toBe(true);
  });
});
