// examples/idle-echo-server.ts (built into build/examples) behaves as the README says.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as net from "node:net";
import { until } from "./helpers.js";

const script = fileURLToPath(new URL("../../build/examples/idle-echo-server.js", import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => { child?.kill(); child = undefined; });

describe("examples/idle-echo-server", () => {
  it("echoes, then says goodbye and closes a connection idle for its timeout", async () => {
    child = spawn(process.execPath, [script, "0", "0.3"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => { out += d; });
    await until(() => /listening on 127\.0\.0\.1:(\d+)/.test(out), 10_000, "the server to listen");
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const client = net.connect(port, "127.0.0.1");
    let got = "";
    let endedAt = 0;
    client.on("data", (d) => { got += d; });
    client.on("end", () => { endedAt = performance.now(); });
    await new Promise((r) => client.once("connect", r));
    client.write("hello\n");
    await until(() => got === "hello\n", 5000, "the echo");
    const echoedAt = performance.now();
    await until(() => endedAt > 0, 5000, "the idle close");
    client.destroy();
    expect(got).toBe("hello\nidle timeout, bye\n");
    expect(endedAt - echoedAt).toBeGreaterThanOrEqual(250);
    expect(endedAt - echoedAt).toBeLessThan(3000);
  });
});
