// The module ABI, version by version: every import namespace and export a server module may use,
// the version that introduced it, and which version a built module needs. Tests check the built
// modules against ABI_VERSIONS (test/wasm-servers/wasmapi-abi.test.ts).
//
// Rules (SPEC, "Module ABI versions"): wasyncore_sock_v1 never changes; a new import or export
// opens the next version; a runner supplies every version it knows, so an older module keeps
// working on a newer runner.
import { SOCK_NAMESPACE, SOCK_IMPORTS, SERVER_EXPORTS } from "./abi.js";

/** The namespace of the imports version 2 added. */
export const SOCK_NAMESPACE_V2 = "wasyncore_sock_v2";

/** Imports version 2 added (datagram sockets, outbound connects' peer address). */
export const SOCK_IMPORTS_V2 = [] as readonly string[];

/** Exports version 2 added: `server_timeout()` — ms until the module's next timer, -1 without timers. */
export const SERVER_EXPORTS_V2 = ["server_timeout"] as const;

/** One ABI version: the imports of its own namespace and the server exports it added. */
export interface AbiVersion {
  version: number;
  namespace: string;
  imports: readonly string[];
  exports: readonly string[];
}

/** Every version, oldest first. A module built for version N may use the names of versions 1..N. */
export const ABI_VERSIONS: readonly AbiVersion[] = [
  { version: 1, namespace: SOCK_NAMESPACE, imports: SOCK_IMPORTS, exports: SERVER_EXPORTS },
  { version: 2, namespace: SOCK_NAMESPACE_V2, imports: SOCK_IMPORTS_V2, exports: SERVER_EXPORTS_V2 },
];

/** Exports every host-flavour module has besides the versioned ones. */
export const BASE_EXPORTS = ["memory", "_initialize"] as const;

/**
 * The ABI version a compiled module needs: the newest version whose namespace it imports or
 * whose exports it has. Throws a TypeError naming the first import or export no version knows.
 */
export function abiVersionOf(module: WebAssembly.Module): number {
  let need = 1;
  const byNamespace = new Map(ABI_VERSIONS.map((v) => [v.namespace, v]));
  for (const imp of WebAssembly.Module.imports(module)) {
    const v = byNamespace.get(imp.module);
    if (v === undefined) continue; // other namespaces (WASI, env) are the runner's business
    if (!v.imports.includes(imp.name)) throw new TypeError(`the module imports ${imp.module}.${imp.name}, which ABI version ${v.version} does not have`);
    need = Math.max(need, v.version);
  }
  for (const exp of WebAssembly.Module.exports(module)) {
    const v = ABI_VERSIONS.find((x) => x.exports.includes(exp.name));
    if (v !== undefined) need = Math.max(need, v.version);
  }
  return need;
}
