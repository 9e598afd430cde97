// Flow on the native backend: input bounded while the application does not read, nothing intact
// lost, no wake-ups from a socket nobody reads after its peer left, host names resolved first.
import { describe, it, expect, beforeAll, beforeEach, afterEach } from "vitest";
import { AF_INET, ChannelMap, SocketError, closeAll, configure, loop } from "../../host/index.js";
import { FIELD } from "../../host/core/abi.js";
import { native, nativeUnavailable, nativeStats } from "../../host/sys/native/addon.js";
import { getEngine } from "../../host/core/engine.js";
import { BaseClient, BaseServer, BaseTestHandler, ipv4, loopUntil } from "../asyncore/fixtures.js";
import { missing, settled, sleep } from "../support/index.js";

const built = native() !== null;

describe.skipIf(missing("the native addon", !built))(`flow on the native backend${built ? "" : ` (skipped: ${nativeUnavailable()})`}`, () => {
  beforeAll(() => configure({ backend: "native" }));
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("stops reading a socket at recvPause while the application does not read, then delivers every byte in order", async () => {
    const total = 32 * 2 ** 20; // more than loopback's socket buffers can absorb
    const recvPause = getEngine().limits.recvPause;
    let sent = 0;
    class Sender extends BaseTestHandler {
      override readable(): boolean { return false; }
      override writable(): boolean { return sent < total; }
      override handleWrite(): void {
        const chunk = Buffer.alloc(Math.min(65536, total - sent));
        for (let i = 0; i < chunk.length; i++) chunk[i] = (sent + i) % 253;
        sent += this.send(chunk);
      }
    }
    let reading = false;
    let got = 0;
    let bad = -1;
    let peak = 0;
    class Receiver extends BaseClient {
      override readable(): boolean { return reading; }
      override writable(): boolean { return !this.connected; }
      override handleRead(): void {
        const data = this.recv(65536);
        for (let i = 0; i < data.length && bad < 0; i++) if (data[i] !== (got + i) % 253) bad = got + i;
        got += data.length;
      }
    }
    const server = new BaseServer(ipv4, ipv4.addr(), map, Sender);
    const client = new Receiver(ipv4, server.address, map);
    const token = client.fileno();
    // not reading: the kernel's buffers fill, the core holds at most recvPause (+ one read)
    await loopUntil(map, () => {
      peak = Math.max(peak, getEngine().field(token, FIELD.inLen));
      return client.connected && sent > 0 && peak >= recvPause;
    }, false, { passes: 5000, seconds: 10 });
    const sentWhilePaused = sent;
    await loop({ map, timeout: 0.01, count: 20 });
    peak = Math.max(peak, getEngine().field(token, FIELD.inLen));
    expect(peak).toBeLessThanOrEqual(recvPause + 65536);
    expect(sent).toBeLessThan(total); // the sender is held back by the kernel, not buffered without bound
    expect(sent - sentWhilePaused).toBeLessThan(total);
    reading = true;
    await loopUntil(map, () => got >= total, false, { passes: 100_000, seconds: 20 });
    expect(bad).toBe(-1);
    expect(got).toBe(total);
  });

  it("causes no wake-ups from a socket whose peer closed while the application does not read it", async () => {
    class Closer extends BaseTestHandler {
      override writable(): boolean { return false; }
      constructor(...args: ConstructorParameters<typeof BaseTestHandler>) {
        super(...args);
        this.close();
      }
    }
    const server = new BaseServer(ipv4, ipv4.addr(), map, Closer);
    let ignoring = false;
    const client = new (class extends BaseClient {
      override readable(): boolean { return !ignoring; }
      override writable(): boolean { return !this.connected; }
    })(ipv4, server.address, map);
    await loopUntil(map, () => client.connected && map.size === 2, false); // the server's end closed itself
    ignoring = true;
    // The FIN arrives; the client takes EOF and leaves epoll: wait until the wake-ups stop (by count,
    // not a fixed sleep), then none may come for 200 ms.
    const wakeups = await settled(() => nativeStats.wakeups);
    await sleep(200);
    expect(nativeStats.wakeups - wakeups).toBe(0);
    // The positive control: the counter is live, a new connection to the same listener wakes the loop.
    const other = new BaseClient(ipv4, server.address, map);
    await loopUntil(map, () => other.connected, false);
    expect(nativeStats.wakeups - wakeups).toBeGreaterThan(0);
  });

  it("resolves a host name before connecting; a name that does not resolve reaches handleError", async () => {
    const errors: unknown[] = [];
    const client = new (class extends BaseTestHandler {
      override handleError(err: unknown): void { errors.push(err); this.close(); }
    })(null, map);
    client.createSocket(AF_INET);
    client.connect(["wasyncore-test.invalid", 80]);
    expect(client.connecting).toBe(true);
    await loopUntil(map, () => errors.length > 0, false, { passes: 5000, seconds: 20 });
    expect(errors[0]).toBeInstanceOf(SocketError);
    expect(["ENOTFOUND", "EAI_AGAIN"]).toContain((errors[0] as SocketError).code);
  });
});
