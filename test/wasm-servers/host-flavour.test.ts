// The examples in the host flavour: AssemblyScript servers under the Node runner serve real
// loopback clients byte-exactly.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as http from "node:http";
import * as net from "node:net";
import { WasmServer } from "../../host/sandbox/index.js";
import { built, roundTrip, pattern, connectRetry, drain, devNull } from "./helpers.js";

describe("echo server (host flavour)", () => {
  let server: WasmServer;
  let port: number;
  beforeAll(async () => {
    server = await WasmServer.start(built("echo", "host"), { listen: ["127.0.0.1:0"], stdout: devNull() });
    port = server.listening[0].port;
  });
  afterAll(() => server.close());

  it("listens only on the granted address, with the port the OS chose", () => {
    expect(server.listening).toEqual([{ host: "127.0.0.1", port }]);
    expect(port).toBeGreaterThan(0);
  });

  it("echoes a small message byte for byte", async () => {
    expect((await roundTrip(port, Buffer.from("hello, wasm\n"))).toString()).toBe("hello, wasm\n");
  });

  it("echoes 4 MiB to each of 4 concurrent clients intact", async () => {
    const payloads = [1, 2, 3, 4].map((seed) => pattern(4 << 20, seed));
    const results = await Promise.all(payloads.map((p) => roundTrip(port, p)));
    results.forEach((r, i) => {
      expect(r.length).toBe(payloads[i].length);
      expect(r.equals(payloads[i])).toBe(true);
    });
    expect(server.alive).toBe(true);
  });

  it("closes the connection when the client closes without sending", async () => {
    const c = await connectRetry(port);
    const done = drain(c);
    c.end();
    expect(await done).toEqual({ data: Buffer.alloc(0), how: "end" });
  });
});

describe("HTTP hello server (host flavour)", () => {
  let server: WasmServer;
  let port: number;
  beforeAll(async () => {
    server = await WasmServer.start(built("http", "host"), { listen: ["127.0.0.1:0"], stdout: devNull() });
    port = server.listening[0].port;
  });
  afterAll(() => server.close());

  function request(agent: http.Agent, opts: http.RequestOptions & { body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, agent, ...opts }, (res) => {
        let body = "";
        res.setEncoding("latin1");
        res.on("data", (d: string) => { body += d; });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
      req.end(opts.body);
    });
  }

  it("answers 40 keep-alive requests over 2 connections, bodies skipped", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const sockets = new Set<net.Socket>();
    agent.on("free", (s: net.Socket) => sockets.add(s));
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      request(agent, i % 4 === 0 ? { method: "POST", path: `/p${i}`, body: "x".repeat(i * 500) } : { path: `/g${i}` })));
    agent.destroy();
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(r.body).toBe("Hello, world!\n");
      expect(r.headers["content-type"]).toBe("text/plain");
      expect(r.headers["content-length"]).toBe("14");
    }
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it("answers pipelined requests in order and closes after Connection: close", async () => {
    const c = await connectRetry(port);
    const done = drain(c);
    c.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const { data, how } = await done;
    const one = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n";
    const last = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nHello, world!\n";
    expect(data.toString("latin1")).toBe(one + last);
    expect(how).toBe("end");
  });

  it("closes an HTTP/1.0 connection after its one response", async () => {
    const c = await connectRetry(port);
    const done = drain(c);
    c.write("GET / HTTP/1.0\r\n\r\n");
    const { data } = await done;
    expect(data.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n.*Connection: close\r\n\r\nHello, world!\n$/s);
  });
});
