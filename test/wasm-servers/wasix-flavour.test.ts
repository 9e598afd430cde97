// The examples in the WASIX flavour: the same sources, built against wasi_snapshot_preview1 +
// wasix_32v1, run their own poll_oneoff loop under @wasmer/sdk (Wasmer + WASIX inside Node)
// and serve real loopback clients byte-exactly.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { Wasmer } from "@wasmer/sdk/node";
import { built, freePort, roundTrip, pattern, connectRetry, drain } from "./helpers.js";

interface Running { port: number; stdout: string[]; stop(): Promise<void>; }

let wasmer: Wasmer;
beforeAll(() => { wasmer = new Wasmer(); });
afterAll(async () => { await wasmer.close(); });

/** Starts a WASIX module with `--listen 127.0.0.1:PORT` and waits for its "listening" line. */
async function runWasix(name: string): Promise<Running> {
  // @wasmer/sdk 0.16 reports the requested address back, so the guest cannot learn an
  // ephemeral port: the test picks a free one.
  const port = await freePort();
  const pkg = await wasmer.packages.load(readFileSync(built(name, "wasix")));
  const sandbox = await wasmer.sandboxes.create({ packages: [pkg], network: { mode: "host" } });
  const proc = await sandbox.command(pkg, ["--listen", `127.0.0.1:${port}`]).spawn({ stdout: "pipe", stderr: "pipe" });
  const stdout: string[] = [];
  const lines = (async () => { for await (const line of proc.stdout!.lines()) stdout.push(line); })();
  const deadline = Date.now() + 60_000;
  while (!stdout.some((l) => l.includes("listening on"))) {
    if (Date.now() > deadline) throw new Error(`${name}.wasix.wasm did not start listening; stdout: ${stdout.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port, stdout,
    async stop() { await sandbox.close(); void lines.catch(() => {}); },
  };
}

describe("echo server (WASIX flavour, @wasmer/sdk)", () => {
  let server: Running;
  beforeAll(async () => { server = await runWasix("echo"); }, 120_000);
  afterAll(async () => { await server?.stop(); });

  it("prints its listening line from inside the module", () => {
    expect(server.stdout).toContain(`echo: listening on 127.0.0.1:${server.port}`);
  });

  it("echoes a small message byte for byte", async () => {
    expect((await roundTrip(server.port, Buffer.from("hello, wasix\n"))).toString()).toBe("hello, wasix\n");
  });

  it("echoes 1 MiB to each of 3 concurrent clients intact", async () => {
    const payloads = [1, 2, 3].map((seed) => pattern(1 << 20, seed));
    const results = await Promise.all(payloads.map((p) => roundTrip(server.port, p)));
    results.forEach((r, i) => expect(r.equals(payloads[i])).toBe(true));
  });
});

describe("HTTP hello server (WASIX flavour, @wasmer/sdk)", () => {
  let server: Running;
  beforeAll(async () => { server = await runWasix("http"); }, 120_000);
  afterAll(async () => { await server?.stop(); });

  it("answers 10 keep-alive requests from node:http", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    await connectRetry(server.port).then((c) => c.destroy());
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => new Promise<{ status: number; body: string; type?: string }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: server.port, path: `/r${i}`, agent }, (res) => {
        let body = "";
        res.setEncoding("latin1");
        res.on("data", (d: string) => { body += d; });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, type: res.headers["content-type"] }));
      });
      req.on("error", reject);
      req.end();
    })));
    agent.destroy();
    for (const r of replies) expect(r).toEqual({ status: 200, body: "Hello, world!\n", type: "text/plain" });
  });

  it("answers pipelined requests in order and closes after Connection: close", async () => {
    const c = await connectRetry(server.port);
    const done = drain(c);
    c.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const { data } = await done;
    expect(data.toString("latin1")).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n" +
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nHello, world!\n");
  });
});
