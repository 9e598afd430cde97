// The module ABI by version (host/sandbox/abi.ts, ABI_VERSIONS): every built server module uses only
// names some version lists; version 2 keeps v1's functions and adds server_timeout; version 3 keeps
// v2's and adds the datagram calls; a module that is v1 by its boundary still runs on this runner.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, mkdirSync } from "node:fs";
import { relative } from "node:path";
import asc from "assemblyscript/asc";
import { serverBuildOptions } from "../../host/sandbox/build.js";
import { WasmServer, SOCK_NAMESPACE, SOCK_IMPORTS, SERVER_EXPORTS, SERVER_EXPORTS_V2, ABI_VERSIONS, abiVersionOf } from "../../host/sandbox/index.js";

const BASE_EXPORTS = ["memory", "_initialize"];
import { EXAMPLES } from "../../examples/assembly/build.mjs";
import { built, fixture, root, roundTrip, pattern, devNull } from "./helpers.js";

const module = (path: string): WebAssembly.Module => new WebAssembly.Module(readFileSync(path));

describe("ABI versions", () => {
  it("version 2 offers v1's functions unchanged and adds the server_timeout export", () => {
    expect(Object.keys(ABI_VERSIONS)).toEqual(["wasyncore_sock_v1", "wasyncore_sock_v2", "wasyncore_sock_v3"]);
    expect(SOCK_NAMESPACE).toBe("wasyncore_sock_v1");
    expect(ABI_VERSIONS.wasyncore_sock_v2.imports).toEqual(SOCK_IMPORTS);
    expect(ABI_VERSIONS.wasyncore_sock_v2.exports).toEqual([...SERVER_EXPORTS, ...SERVER_EXPORTS_V2]);
    expect([...SERVER_EXPORTS_V2]).toEqual(["server_timeout"]);
  });

  it("version 3 offers v2's functions unchanged and adds the three datagram calls", () => {
    expect(ABI_VERSIONS.wasyncore_sock_v3.imports).toEqual([...SOCK_IMPORTS, "sock_open_dgram", "sock_sendto", "sock_recvfrom"]);
    expect(ABI_VERSIONS.wasyncore_sock_v3.exports).toEqual(ABI_VERSIONS.wasyncore_sock_v2.exports);
  });

  it.each(EXAMPLES)("the %s example (host flavour) uses only listed imports and exports", (name) => {
    const m = module(built(name, "host"));
    for (const i of WebAssembly.Module.imports(m)) {
      if (i.module.startsWith("wasyncore_")) {
        expect(ABI_VERSIONS[i.module], i.module).toBeDefined();
        expect(ABI_VERSIONS[i.module].imports, `${i.module}.${i.name}`).toContain(i.name);
      } else expect(["env", "wasi_snapshot_preview1"]).toContain(i.module);
    }
    const listed = new Set<string>([...BASE_EXPORTS, ...Object.values(ABI_VERSIONS).flatMap((v) => v.exports)]);
    for (const e of WebAssembly.Module.exports(m)) expect(listed.has(e.name), e.name).toBe(true);
    expect(abiVersionOf(m)).toBe(3); // the library imports wasyncore_sock_v3
  });

  describe("a module that is ABI v1 by its boundary", () => {
    const out = `${root}build/servers/fixtures/echo-v1.host.wasm`;
    let server: WasmServer;
    beforeAll(async () => {
      {
        mkdirSync(`${root}build/servers/fixtures`, { recursive: true });
        let stderr = "";
        // the `wasyncore build` options, with the v1 exports in place of assembly/server/exports.ts
        const { error } = await asc.main([
          relative(process.cwd(), `${root}examples/assembly/echo.ts`), relative(process.cwd(), `${root}examples/assembly/fixtures/v1-exports.ts`),
          "--outFile", relative(process.cwd(), out), "--config", relative(process.cwd(), `${root}assembly/server/asconfig.json`),
          ...serverBuildOptions("host", false, 1),
        ], { stderr: { write: (s: string | Uint8Array) => { stderr += String(s); return true; } }, stdout: { write: () => true } });
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

    it("serves on this (v3) runner: 1 MiB echoed intact", async () => {
      const p = pattern(1 << 20, 5);
      expect((await roundTrip(server.listening[0].port, p)).equals(p)).toBe(true);
    });
  });

  it("the timers fixture is v3 as well (it is built with the current library)", async () => {
    expect(abiVersionOf(module(await fixture("timers")))).toBe(3);
  });
});
