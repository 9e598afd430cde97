// Servers written in AssemblyScript, run under Node with granted sockets (`wasyncore run`).
export { WasmServer, WasmServerError, type ServerOptions } from "./server.js";
export { Grants, parseEndpoint, type Endpoint } from "./grants.js";
export { SOCK_NAMESPACE, SOCK_IMPORTS, SERVER_EXPORTS, WASIX_IMPORTS } from "./abi.js";
