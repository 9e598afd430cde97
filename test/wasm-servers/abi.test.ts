// The built server modules import and export exactly the names host/sandbox/abi.ts lists.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { SOCK_NAMESPACE, SOCK_IMPORTS, SERVER_EXPORTS, WASIX_IMPORTS } from "../../host/sandbox/index.js";
import { SERVER_EXPORTS_V2, ABI_VERSIONS } from "../../host/sandbox/abi.js";
import { built } from "./helpers.js";

function shape(path: string): { imports: WebAssembly.ModuleImportDescriptor[]; exports: string[] } {
  const m = new WebAssembly.Module(readFileSync(path));
  return { imports: WebAssembly.Module.imports(m), exports: WebAssembly.Module.exports(m).map((e) => e.name) };
}

describe.each(["echo", "http"])("%s module", (name) => {
  it("host flavour: sockets only from the versioned namespace (v3: the library's), stdio/clock from WASI, memory from the host", () => {
    const { imports, exports } = shape(built(name, "host"));
    const modules = new Set(imports.map((i) => i.module));
    expect([...modules].sort()).toEqual(["env", "wasyncore_sock_v3", "wasi_snapshot_preview1"].sort());
    for (const i of imports.filter((i) => i.module === "wasyncore_sock_v3")) expect(ABI_VERSIONS.wasyncore_sock_v3.imports).toContain(i.name);
    expect(imports.filter((i) => i.module === "env").map((i) => i.name).sort()).toEqual(["abort", "memory"]);
    expect(imports.filter((i) => i.module === "wasi_snapshot_preview1").map((i) => i.name)).not.toContain("sock_recv");
    expect(exports.sort()).toEqual([...SERVER_EXPORTS, ...SERVER_EXPORTS_V2, "_initialize", "memory"].sort());
  });

  it("WASIX flavour: a _start command over wasi_snapshot_preview1 and wasix_32v1 only", () => {
    const { imports, exports } = shape(built(name, "wasix"));
    expect([...new Set(imports.map((i) => i.module))].sort()).toEqual(["wasi_snapshot_preview1", "wasix_32v1"]);
    for (const i of imports.filter((i) => i.module === "wasix_32v1")) expect(WASIX_IMPORTS.wasix_32v1).toContain(i.name);
    const preview1 = imports.filter((i) => i.module === "wasi_snapshot_preview1").map((i) => i.name);
    for (const n of ["sock_accept", "sock_recv", "sock_send", "poll_oneoff"]) expect(preview1).toContain(n);
    expect(exports).toContain("_start");
    expect(exports).not.toContain("_initialize");
  });
});

describe("the ABI list (host/sandbox/abi.ts) is what the runner grants", () => {
  it("the socket table implements exactly each version's imports", async () => {
    const { ABI_VERSIONS } = await import("../../host/sandbox/index.js");
    const { SocketTable } = await import("../../host/sandbox/sockets.js");
    const { Grants } = await import("../../host/sandbox/grants.js");
    const t = new SocketTable(new Grants(), () => new WebAssembly.Memory({ initial: 1 }), () => {});
    expect(Object.keys(t.imports()).sort()).toEqual([...ABI_VERSIONS.wasyncore_sock_v1.imports].sort());
    t.closeAll();
    // the module's table with datagrams (what the runner gives every module): exactly v3's names
    const { ModuleSockets } = await import("../../host/sandbox/datagrams.js");
    const m = new ModuleSockets(new Grants(), () => new WebAssembly.Memory({ initial: 1 }), () => {});
    expect(Object.keys(m.imports()).sort()).toEqual([...ABI_VERSIONS.wasyncore_sock_v3.imports].sort());
    m.closeAll();
  });

  it("the WASI shim answers every preview1 name the validator lets through", async () => {
    const { WASI_SHIM_IMPORTS } = await import("../../host/sandbox/index.js");
    const { WasiShim } = await import("../../host/sandbox/wasi.js");
    const shim = new WasiShim(() => new WebAssembly.Memory({ initial: 1 }), { name: "t", args: [] });
    expect(Object.keys(shim.imports()).sort()).toEqual([...WASI_SHIM_IMPORTS].sort());
    expect(shim.imports().fd_read()).toBe(52); // ENOSYS: no stdin
    expect(shim.imports().poll_oneoff()).toBe(52); // no sleeping
  });

  it("v1 is frozen: its names are the ones released", async () => {
    const { ABI_VERSIONS } = await import("../../host/sandbox/index.js");
    expect(ABI_VERSIONS.wasyncore_sock_v1).toEqual({
      imports: ["sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_connect", "sock_send", "sock_recv", "sock_close", "sock_poll", "sock_error", "sock_local_port"],
      exports: ["server_pass", "server_passes"],
    });
  });
});
