// Containment: a module that traps is stopped with an error naming it; its sockets close;
// every other module keeps serving, its connections intact.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { WasmServer, WasmServerError } from "../../host/sandbox/index.js";
import { fixture, built, connectRetry, drain, roundTrip, pattern, devNull } from "./helpers.js";

let faulty: string;
let echo: WasmServer;
let echoPort: number;
beforeAll(async () => {
  faulty = await fixture("faulty");
  echo = await WasmServer.start(built("echo", "host"), { listen: ["127.0.0.1:0"], stdout: devNull() });
  echoPort = echo.listening[0].port;
}, 180_000);
afterAll(() => echo.close());

describe.each([
  ["abort", /stopped: abort: faulty module asked to abort$/],
  ["oob", /trap: memory access out of bounds/],
  ["alloc", /trap: |abort: /],
])("a module that traps by %s", (command, message) => {
  it("stops with an error naming the module, closes its sockets, and the other module's transfers complete", async () => {
    const bad = await WasmServer.start(faulty, { listen: ["127.0.0.1:0"], name: `faulty-${command}.wasm`, memoryMb: 32, stdout: devNull(), stderr: devNull() });
    const badPort = bad.listening[0].port;
    // a bystander connection of the faulty module, mid-conversation
    const bystander = await connectRetry(badPort);
    const bystanderDone = drain(bystander);
    bystander.write("ping");
    // big echo transfers on the healthy module, running while the other one dies
    const payloads = [1, 2].map((seed) => pattern(2 << 20, seed));
    const transfers = payloads.map((p) => roundTrip(echoPort, p));
    const killer = await connectRetry(badPort);
    const killerDone = drain(killer);
    killer.write(command);
    const err = await bad.done;
    expect(err).toBeInstanceOf(WasmServerError);
    expect(err!.module).toBe(`faulty-${command}.wasm`);
    expect(err!.message).toMatch(new RegExp(`^wasyncore: module faulty-${command}\\.wasm stopped: `));
    expect(err!.message).toMatch(message);
    expect(bad.alive).toBe(false);
    // its sockets are closed: both clients see the end, and the listener refuses
    const [k, b] = await Promise.all([killerDone, bystanderDone]);
    expect(["end", "close", "ECONNRESET"]).toContain(k.how);
    expect(["end", "close", "ECONNRESET"]).toContain(b.how);
    expect(b.data.toString()).toBe("ping");
    await expect(connectRetry(badPort, 0)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    // the healthy module: every byte, in order
    const results = await Promise.all(transfers);
    results.forEach((r, i) => expect(r.equals(payloads[i])).toBe(true));
    expect(echo.alive).toBe(true);
    expect((await roundTrip(echoPort, Buffer.from("still here"))).toString()).toBe("still here");
  });
});

it("rejects start() with the module's error when it traps inside main()", async () => {
  const start = WasmServer.start(faulty, { listen: ["127.0.0.1:0"], args: ["--die", "main"], name: "dies-in-main.wasm", stdout: devNull() });
  await expect(start).rejects.toThrow(/^wasyncore: module dies-in-main\.wasm stopped: abort: dying in main$/);
});

it("refuses a WASIX-flavour module, saying to build the host flavour", async () => {
  await expect(WasmServer.start(built("echo", "wasix"), {})).rejects.toThrow(/not a host-flavour server module/);
});
