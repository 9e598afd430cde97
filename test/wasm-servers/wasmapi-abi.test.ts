// The module ABI by version (host/sandbox/abi-v2.ts, ABI_VERSIONS): every built server module
// uses only names some version lists; wasyncore_sock_v1 is unchanged; a module that is v1 by its
// boundary still runs on this runner.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, mkdirSync } from "node:fs";
import asc from "assemblyscript/asc";
import { WasmServer, SOCK_NAMESPACE, SOCK_IMPORTS, SERVER_EXPORTS } from "../../host/sandbox/index.js";
import { ABI_VERSIONS, BASE_EXPORTS, abiVersionOf } from "../../host/sandbox/abi-v2.js";
import { EXAMPLES } from "../../examples/assembly/build.mjs";
import { built, fixture, root, roundTrip, pattern, devNull } from "./helpers.js";

const module = (path: string): WebAssembly.Module => new WebAssembly.Module(readFileSync(path));

describe("ABI versions", () => {
  it("version 1 is the namespace and names the sandbox fixed, unchanged", () => {
    const v1 = ABI_VERSIONS[0];
    expect(v1).toEqual({ version: 1, namespace: SOCK_NAMESPACE, imports: SOCK_IMPORTS, exports: SERVER_EXPORTS });
    expect(SOCK_NAMESPACE).toBe("wasyncore_sock_v1");
    expect([...SOCK_IMPORTS]).toEqual([
      "sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_connect",
      "sock_send", "sock_recv", "sock_close", "sock_poll", "sock_error", "sock_local_port",
    ]);
    expect([...SERVER_EXPORTS]).toEqual(["server_pass", "server_passes"]);
  });

  it("versions count up from 1, each with its own namespace, and no name is listed twice", () => {
    ABI_VERSIONS.forEach((v, i) => {
      expect(v.version).toBe(i + 1);
      expect(v.namespace).toBe(`wasyncore_sock_v${i + 1}`);
    });
    const exports = ABI_VERSIONS.flatMap((v) => v.exports);
    expect(new Set(exports).size).toBe(exports.length);
  });

  it.each(EXAMPLES)("the %s example (host flavour) uses only listed imports and exports", (name) => {
    const m = module(built(name, "host"));
    const known = new Map(ABI_VERSIONS.map((v) => [v.namespace, v]));
    for (const i of WebAssembly.Module.imports(m)) {
      if (i.module.startsWith("wasyncore_")) {
        expect(known.has(i.module), i.module).toBe(true);
        expect(known.get(i.module)!.imports, `${i.module}.${i.name}`).toContain(i.name);
      } else expect(["env", "wasi_snapshot_preview1"]).toContain(i.module);
    }
    const listed = new Set<string>([...BASE_EXPORTS, ...ABI_VERSIONS.flatMap((v) => v.exports)]);
    for (const e of WebAssembly.Module.exports(m)) expect(listed.has(e.name), e.name).toBe(true);
    expect(abiVersionOf(m)).toBe(2); // server_timeout
  });

  it("abiVersionOf names an import that no version has", () => {
    const str = (t: string): number[] => [t.length, ...Buffer.from(t)];
    const imp = [1, ...str("wasyncore_sock_v1"), ...str("sock_fork"), 0, 0]; // one func import of type 0
    const wat = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, imp.length, ...imp]);
    expect(() => abiVersionOf(new WebAssembly.Module(wat))).toThrow(/wasyncore_sock_v1\.sock_fork/);
  });

  describe("a module that is ABI v1 by its boundary", () => {
    const out = `${root}build/servers/fixtures/echo-v1.host.wasm`;
    let server: WasmServer;
    beforeAll(async () => {
      {
        mkdirSync(`${root}build/servers/fixtures`, { recursive: true });
        let stderr = "";
        const { error } = await asc.main([
          "examples/assembly/echo.ts", "examples/assembly/fixtures/v1-exports.ts",
          "--config", "examples/assembly/asconfig.json", "--target", "host", "--outFile", "build/servers/fixtures/echo-v1.host.wasm",
        ], { baseDir: root, stderr: { write: (s: string) => { stderr += s; return true; } }, stdout: { write: () => true } } as Parameters<typeof asc.main>[1]);
        if (error) throw new Error(`${error.message}\n${stderr}`);
      }
      server = await WasmServer.start(out, { listen: ["127.0.0.1:0"], stdout: devNull() });
    }, 120_000);
    afterAll(() => server?.close());

    it("imports only wasyncore_sock_v1 and exports only v1's names", () => {
      const m = module(out);
      expect(abiVersionOf(m)).toBe(1);
      expect(WebAssembly.Module.imports(m).filter((i) => i.module.startsWith("wasyncore_")).every((i) => i.module === SOCK_NAMESPACE)).toBe(true);
      expect(WebAssembly.Module.exports(m).map((e) => e.name).sort()).toEqual([...BASE_EXPORTS, ...SERVER_EXPORTS].sort());
    });

    it("serves on this (v2) runner: 1 MiB echoed intact", async () => {
      const p = pattern(1 << 20, 5);
      expect((await roundTrip(server.listening[0].port, p)).equals(p)).toBe(true);
    });
  });

  it("the timers fixture is v2 as well (it is built with the current library)", async () => {
    expect(abiVersionOf(module(await fixture("timers")))).toBe(2);
  });
});
