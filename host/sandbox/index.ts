// Servers written in AssemblyScript, run under Node in sandboxes with granted sockets (`wasyncore run`).
export { WasmServer, WasmServerError, type ServerOptions, type ModuleStats } from "./server.js";
export { DEFAULT_LIMITS, DEFAULT_SOCKET_LIMITS, type SocketLimits } from "./limits.js";
export { Grants, parseEndpoint, type Endpoint } from "./grants.js";
export type { SocketStats } from "./sockets.js";
export type { DatagramStats } from "./datagrams.js";
export type { TlsListen } from "./tls.js";
export { checkModule, ModuleRefused, MAX_TABLE_ELEMENTS, type ModuleShape } from "./check.js";
export { ABI_VERSIONS, SOCK_NAMESPACE, SOCK_IMPORTS, SERVER_EXPORTS, SERVER_EXPORTS_V2, abiVersionOf, WASIX_IMPORTS, WASI_SHIM_IMPORTS, type AbiVersion } from "./abi.js";
