// The AssemblyScript examples of issue 19 answer byte for byte what their TypeScript versions
// answer: the SMTP sink on AsyncChat (examples/assembly/smtp.ts ↔ examples/smtp-sink.ts) and the
// idle-timeout echo (examples/assembly/idle-echo.ts ↔ examples/idle-echo-server.ts), in the host
// flavour under the Node runner and in the WASIX flavour under @wasmer/sdk.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Wasmer } from "@wasmer/sdk/node";
import { ChannelMap, loop, closeAll } from "../../host/index.js";
import { WasmServer } from "../../host/sandbox/index.js";
import { SmtpSink } from "../../examples/smtp-sink.js";
import { built, devNull, freePort, until } from "./helpers.js";
import { LineClient, transcript, runWasix, type WasixRun } from "./wasmapi-helpers.js";

const FQDN = "sink.test";

/** An SMTP session that walks every reply of the sink, ending in QUIT. */
const SESSION = Buffer.concat([
  Buffer.from([
    "NOOP", "MAIL FROM:<a@b>", "HELO", "EHLO client.example", "HELO again", "RCPT TO:<x@y>",
    "MAIL FROM: <alice@example.org> SIZE=100", "MAIL FROM:<b@c>", "RCPT TO:", "RCPT TO:<bob@example.org>",
    "RCPT TO: carol@example.org", "DATA x", "DATA",
    "Subject: test", "", ".a line that starts with a dot", "..two dots", "x".repeat(900), ". last", ".",
    "", "y".repeat(600), "frob", "rset now", "NOOP x", "RSET", "MAIL FROM:bare@example.org", "RCPT TO:<z@example.org>",
    "DATA", "short", ".", "mail FROM:<c@d> extra", "MAIL TO:<c@d>",
  ].join("\r\n") + "\r\n", "latin1"),
  Buffer.from("h\xe9lo there\r\n", "latin1"), // a latin-1 verb: upper-cased and echoed as UTF-8
  Buffer.from("QUIT\r\nNOOP\r\n", "latin1"), // nothing after QUIT is answered
]);

class QuietSink extends SmtpSink {
  override processMessage(): void {}
}

describe("SMTP sink: AssemblyScript module vs TypeScript example", () => {
  let map: ChannelMap;
  let ts: QuietSink;
  let running: Promise<void>;
  let mod: WasmServer;
  let modPort: number;
  let expected: Buffer;

  beforeAll(async () => {
    map = new ChannelMap();
    ts = new QuietSink("127.0.0.1", 0, map);
    ts.fqdn = FQDN;
    running = loop({ map, timeout: 0.05 });
    mod = await WasmServer.start(built("smtp", "host"), { listen: ["127.0.0.1:0"], args: ["--fqdn", FQDN], stdout: devNull() });
    modPort = mod.listening[0].port;
    expected = await transcript(ts.port, SESSION);
  }, 60_000);
  afterAll(async () => {
    mod?.close();
    closeAll({ map });
    await running;
  });

  it("the TypeScript sink's transcript is the one this test means (greeting, every error reply, 250 after DATA, 221)", () => {
    const lines = expected.toString("latin1").split("\r\n");
    expect(lines[0]).toBe(`220 ${FQDN} wasyncore smtp-sink`);
    expect(lines).toContain("503 Error: send HELO first");
    expect(lines).toContain("500 Error: line too long");
    expect(lines).toContain('500 Error: command "FROB" not recognized');
    expect(lines.at(-2)).toBe("221 Bye");
    expect(expected.toString("utf8")).toContain('500 Error: command "HÉLO" not recognized');
  });

  it("host flavour: the same bytes, the session sent at once", async () => {
    expect((await transcript(modPort, SESSION)).toString("latin1")).toBe(expected.toString("latin1"));
  });

  it.each([1, 3, 7])("host flavour: the same bytes with the client's writes split into 1..%i-byte pieces (terminators split across reads)", async (piece) => {
    const got = await transcript(modPort, SESSION, piece);
    expect(got.equals(expected)).toBe(true);
  }, 60_000);

  it("host flavour: line by line, each reply before the next command", async () => {
    const c = await LineClient.open(modPort);
    expect(await c.line()).toBe(`220 ${FQDN} wasyncore smtp-sink`);
    expect(await c.ask("EHLO me")).toBe(`250 ${FQDN}`);
    expect(await c.ask("MAIL FROM:<a@b>")).toBe("250 OK");
    expect(await c.ask("RCPT TO:<c@d>")).toBe("250 OK");
    expect(await c.ask("DATA")).toBe("354 End data with <CR><LF>.<CR><LF>");
    c.sock.write("line one\r\n");
    c.sock.write("\r");
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write("\n.");
    await new Promise((r) => setTimeout(r, 50));
    expect(await c.ask("")).toBe("250 OK"); // "\r\n.\r\n" arrived in three pieces
    expect(await c.ask("QUIT")).toBe("221 Bye");
    expect(await c.rest()).toBe("");
  });

  describe("WASIX flavour (@wasmer/sdk)", () => {
    let wasmer: Wasmer;
    let run: WasixRun;
    beforeAll(async () => {
      wasmer = new Wasmer();
      run = await runWasix(wasmer, built("smtp", "wasix"), await freePort(), ["--fqdn", FQDN]);
    }, 120_000);
    afterAll(async () => { await run?.stop(); await wasmer?.close(); });

    it("the same bytes, at once and in 1..5-byte pieces", async () => {
      expect((await transcript(run.port, SESSION)).equals(expected)).toBe(true);
      expect((await transcript(run.port, SESSION, 5)).equals(expected)).toBe(true);
    }, 60_000);
  });
});

describe("idle-timeout echo: AssemblyScript module vs TypeScript example", () => {
  const script = fileURLToPath(new URL("../../build/examples/idle-echo-server.js", import.meta.url));
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill());

  /** Echo, then silence: returns what the client got and how long after the echo the server closed. */
  async function session(port: number): Promise<{ got: string; closedAfter: number }> {
    const c = await LineClient.open(port);
    c.sock.write("hello\n");
    await until(() => Buffer.concat(c.raw).toString() === "hello\n", 5000, "the echo");
    const echoedAt = performance.now();
    await c.rest(10_000);
    return { got: Buffer.concat(c.raw).toString("latin1"), closedAfter: performance.now() - echoedAt };
  }

  it("host flavour and TypeScript: the same bytes, closed after the idle timeout", async () => {
    child = spawn(process.execPath, [script, "0", "0.3"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => { out += d; });
    await until(() => /listening on 127\.0\.0\.1:(\d+)/.test(out), 10_000, "the TypeScript server to listen");
    const tsPort = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const mod = await WasmServer.start(built("idle-echo", "host"), { listen: ["127.0.0.1:0"], args: ["--idle", "0.3"], stdout: devNull() });
    try {
      const [a, b] = await Promise.all([session(tsPort), session(mod.listening[0].port)]);
      expect(a.got).toBe("hello\nidle timeout, bye\n");
      expect(b.got).toBe(a.got);
      expect(b.closedAfter).toBeGreaterThanOrEqual(280);
      expect(b.closedAfter).toBeLessThan(5000);
      expect(mod.alive).toBe(true); // its callEvery() keeps it running with no connection
    } finally {
      mod.close();
    }
  }, 30_000);

  it("WASIX flavour: the same bytes, the idle timer through poll_oneoff's clock subscription", async () => {
    const wasmer = new Wasmer();
    const run = await runWasix(wasmer, built("idle-echo", "wasix"), await freePort(), ["--idle", "0.3"], "127.0.0.1", 1500);
    try {
      const r = await session(run.port);
      expect(r.got).toBe("hello\nidle timeout, bye\n");
      expect(r.closedAfter).toBeGreaterThanOrEqual(280);
      expect(r.closedAfter).toBeLessThan(3000);
      expect(run.stdout.some((l) => /closing connections idle for 0\.3 s/.test(l))).toBe(true);
    } finally {
      await run.stop();
      await wasmer.close();
    }
  }, 120_000);
});
