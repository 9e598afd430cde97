// Unix-domain stream sockets on the native backend where the kernel, not an emulation, decides:
// a listener with a full backlog, and socket files (the kernel never removes them; CPython neither).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AF_UNIX, ChannelMap, Dispatcher, Socket, closeAll, configure, loop } from "../../host/index.js";
import { native } from "../../host/sys/native/addon.js";
import { code, missing } from "../support/index.js";

const built = native() !== null;
let dir = "";
let seq = 0;
let saved: string | undefined;

beforeAll(() => {
  saved = process.env.WASYNCORE_BACKEND;
  if (built) configure({ backend: "native" });
  dir = mkdtempSync(join(tmpdir(), "wasyncore-unix-"));
});
afterAll(() => {
  configure({ backend: null });
  if (saved !== undefined) process.env.WASYNCORE_BACKEND = saved;
  rmSync(dir, { recursive: true, force: true }); // every socket file these tests made
});


/** A listener on a fresh path whose backlog is full, and the sockets filling it. */
function fullListener(): { path: string; listener: Socket; held: Socket[] } {
  const path = join(dir, `l${++seq}.sock`);
  const listener = new Socket(AF_UNIX);
  listener.bind(path);
  listener.listen(0);
  const held: Socket[] = [];
  for (let i = 0; i < 64; i++) {
    const c = new Socket(AF_UNIX);
    if (code(() => c.connect(path)) === "EAGAIN") { c.close(); return { path, listener, held }; }
    held.push(c);
  }
  throw new Error("the listener's backlog never filled");
}

describe.skipIf(missing("the native addon", !built))("native Unix sockets and the kernel", () => {
  it("socket.connect() to a listener with a full backlog raises EAGAIN, as Python's does", () => {
    const { path, listener, held } = fullListener();
    expect(held.length).toBeGreaterThan(0);
    const s = new Socket(AF_UNIX);
    expect(code(() => s.connect(path))).toBe("EAGAIN");
    for (const x of [s, listener, ...held]) x.close();
  });

  it("Dispatcher.connect() takes that EAGAIN as in progress, as asyncore does: handleConnect, handleRead, then EINVAL", async () => {
    // CPython 3.11 (asyncore.dispatcher.connect: connect_ex → EWOULDBLOCK is "in progress") gives
    // ['handle_connect', 'handle_read', 'handle_error EINVAL'] for this very setup
    const { path, listener, held } = fullListener();
    const map = new ChannelMap();
    const calls: string[] = [];
    class Client extends Dispatcher {
      override writable(): boolean { return false; }
      override handleConnect(): void { calls.push("handleConnect"); }
      override handleRead(): void { calls.push("handleRead"); this.recv(1); }
      override handleClose(): void { calls.push("handleClose"); this.close(); }
      override handleError(err: unknown): void { calls.push(`handleError ${(err as { code?: string }).code}`); this.close(); }
    }
    const c = new Client(null, map);
    c.createSocket(AF_UNIX);
    c.connect(path); // does not throw
    expect(c.connecting).toBe(true);
    expect(c.addr).toBe(path);
    const watchdog = setTimeout(() => closeAll({ map }), 10_000);
    await loop({ map, timeout: 0.05 });
    clearTimeout(watchdog);
    expect(calls).toEqual(["handleConnect", "handleRead", "handleError EINVAL"]);
    for (const x of [listener, ...held]) x.close();
  });

  it("leaves a closed listener's socket file in place, as CPython does (the caller removes it)", () => {
    const path = join(dir, `kept${++seq}.sock`);
    const l = new Socket(AF_UNIX);
    l.bind(path);
    l.listen(1);
    l.close();
    expect(existsSync(path)).toBe(true);
    expect(code(() => new Socket(AF_UNIX).bind(path))).toBe("EADDRINUSE"); // until it is removed
    rmSync(path);
  });
});
