// Capabilities: a module reaches only the addresses its grants name. Anything else fails
// inside the module with EACCES and never reaches the network.
import { describe, it, expect, beforeAll, afterEach } from "vitest";
import * as net from "node:net";
import * as dgram from "node:dgram";
import { once } from "node:events";
import { WasmServer } from "../../host/sandbox/index.js";
import { fixture, connectRetry, drain, devNull, freePort, until } from "./helpers.js";

let grabby: string;
beforeAll(async () => { grabby = await fixture("grabby"); }, 180_000);

/** A loopback listener that counts the connections it receives. */
async function trap(): Promise<{ port: number; count: () => number; close: () => void }> {
  let n = 0;
  const s = net.createServer((c) => { n++; c.destroy(); });
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  return { port: (s.address() as net.AddressInfo).port, count: () => n, close: () => s.close() };
}

async function report(port: number): Promise<string> {
  const c = await connectRetry(port);
  let text = "";
  c.setEncoding("latin1");
  c.on("data", (d: string) => { text += d; });
  await until(() => text.endsWith("\n"), 10_000, "the module's report");
  c.destroy();
  return text.trim();
}

const running: WasmServer[] = [];
afterEach(() => { for (const s of running.splice(0)) s.close(); });

describe("capabilities", () => {
  it("answers a connect outside the grant with EACCES, and the target sees no connection", async () => {
    const target = await trap();
    const extra = await freePort();
    const server = await WasmServer.start(grabby, {
      listen: ["127.0.0.1:0"], args: ["--target", `127.0.0.1:${target.port}`, "--extra", `127.0.0.1:${extra}`], stdout: devNull(),
    });
    running.push(server);
    const text = await report(server.listening[0].port);
    expect(text).toBe("connect=EACCES listen=EACCES connected=no");
    await new Promise((r) => setTimeout(r, 200)); // give a leaked connect time to arrive
    expect(target.count()).toBe(0);
    expect(server.denied).toEqual([`connect 127.0.0.1:${target.port}`, `listen 127.0.0.1:${extra}`]);
    target.close();
  });

  it("never listens on an address outside the grant", async () => {
    const extra = await freePort();
    const server = await WasmServer.start(grabby, {
      listen: ["127.0.0.1:0"], args: ["--extra", `127.0.0.1:${extra}`], stdout: devNull(),
    });
    running.push(server);
    expect(server.listening.map((a) => a.port)).not.toContain(extra);
    const refused = await new Promise<string>((resolve) => {
      const c = net.connect(extra, "127.0.0.1");
      c.once("connect", () => { c.destroy(); resolve("connected"); });
      c.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
  });

  it("lets a granted connect through to its target", async () => {
    const target = await trap();
    let received = "";
    const listener = net.createServer((c) => { c.setEncoding("latin1"); c.on("data", (d: string) => { received += d; }); });
    listener.listen(0, "127.0.0.1");
    await once(listener, "listening");
    const port = (listener.address() as net.AddressInfo).port;
    const extra = await freePort();
    const server = await WasmServer.start(grabby, {
      listen: ["127.0.0.1:0", `127.0.0.1:${extra}`], allowConnect: [`127.0.0.1:${port}`],
      args: ["--target", `127.0.0.1:${port}`, "--extra", `127.0.0.1:${extra}`], stdout: devNull(),
    });
    running.push(server);
    await until(() => received === "hello from the module\n", 10_000, "the module's greeting");
    const ports = server.listening.map((a) => a.port);
    expect(ports).toContain(extra);
    const text = await report(ports.find((p) => p !== extra)!);
    expect(text).toBe("connect=OK listen=OK connected=yes");
    expect(server.denied).toEqual([]);
    listener.close();
    target.close();
  });

  it("rejects a malformed grant with an error naming it", async () => {
    await expect(WasmServer.start(grabby, { listen: ["nowhere"] })).rejects.toThrow(/listen grant: expected "HOST:PORT".*"nowhere"/);
    await expect(WasmServer.start(grabby, { listen: ["example.com:80"] })).rejects.toThrow(/IP address or localhost/);
  });
});

describe("capabilities: datagrams (--listen-udp, --allow-udp)", () => {
  let udpGrabby: string;
  beforeAll(async () => { udpGrabby = await fixture("udp-grabby"); }, 180_000);

  /** A loopback UDP socket that counts what it receives. */
  async function udpTrap(): Promise<{ port: number; got: Buffer[]; sock: dgram.Socket }> {
    const sock = dgram.createSocket("udp4");
    const got: Buffer[] = [];
    sock.on("message", (m) => got.push(m));
    sock.bind(0, "127.0.0.1");
    await once(sock, "listening");
    return { port: sock.address().port, got, sock };
  }

  /** Asks the module's --listen-udp socket for its report (it replies to the asker: the reply rule). */
  async function udpReport(port: number): Promise<string> {
    const c = await udpTrap();
    c.sock.send("report?", port, "127.0.0.1");
    await until(() => c.got.length > 0, 10_000, "the module's UDP report");
    c.sock.close();
    return c.got[0].toString().trim();
  }

  it("answers a sendto and a bind outside the grants with EACCES; TCP grants on the same addresses grant no UDP", async () => {
    const target = await udpTrap();
    const extra = await freePort();
    const server = await WasmServer.start(udpGrabby, {
      listenUdp: ["127.0.0.1:0"], listen: [`127.0.0.1:${extra}`], allowConnect: [`127.0.0.1:${target.port}`],
      args: ["--target", `127.0.0.1:${target.port}`, "--extra", `127.0.0.1:${extra}`], stdout: devNull(),
    });
    running.push(server);
    expect(await udpReport(server.listeningUdp[0].port)).toBe("sendto=EACCES bind=EACCES sent=0");
    await new Promise((r) => setTimeout(r, 200)); // give a leaked datagram time to arrive
    expect(target.got).toHaveLength(0);
    expect(server.denied).toEqual([`sendto 127.0.0.1:${target.port}`, `listen-udp 127.0.0.1:${extra}`]);
    target.sock.close();
  });

  it("lets a datagram to an --allow-udp address through, from an unbound socket", async () => {
    const target = await udpTrap();
    const server = await WasmServer.start(udpGrabby, {
      listenUdp: ["127.0.0.1:0"], allowUdp: [`127.0.0.1:${target.port}`], args: ["--target", `127.0.0.1:${target.port}`], stdout: devNull(),
    });
    running.push(server);
    expect(await udpReport(server.listeningUdp[0].port)).toBe("sendto=OK bind=EACCES sent=1");
    await until(() => target.got.length === 1, 10_000, "the granted datagram");
    expect(target.got[0].toString()).toBe("leak");
    target.sock.close();
  });
});
