// Listening TCP handles shared between processes on the net backend: the cores helper's primary binds one, and the bind() of that address in each worker process takes the copy it was sent.
import cluster from "node:cluster";
import { AF_INET6 } from "../../core/constants.js";
import { SocketError } from "../../core/errors.js";
import { type Address, checkIp, describe } from "../../core/address.js";
import { bindTcp, reusePortSupported, serverAddress, type ServerHandle } from "./handles.js";

// Handles this process was given, by "host|port": the next bind() of that address takes one.
const offered = new Map<string, ServerHandle[]>();

const keyOf = (host: string, port: number): string => `${host}|${port}`;

/**
 * Binds a TCP handle (not listening) for worker processes to share; its descriptor travels to them
 * with child_process's send(message, handle). Returns it and the address it got (the port, when 0 was asked).
 */
export function bindShared(family: number, address: Address): { handle: object; address: [string, number] } {
  const t = checkIp(family, address, "serveOnCores(): address", true);
  let h: ServerHandle | string;
  try {
    h = bindTcp(family === AF_INET6, t.host, t.port);
  } catch (err) {
    // Node's permission model refuses process.binding: there is no handle to pass
    throw new SocketError("EACCES", `serveOnCores(): processes on the net backend share a listening handle the primary binds, which needs Node's internal handles (${err instanceof Error ? err.message : String(err)}): use the native backend`);
  }
  if (typeof h === "string") throw new SocketError(h, `serveOnCores(): bind(${describe(address)})`);
  const a = serverAddress(h);
  return { handle: h, address: [t.host, a?.port ?? t.port] };
}

/** Records a handle this process was sent for `address`: the next bind() of that address (host and port as written there) takes it. */
export function offerShared(family: number, address: Address, handle: object): void {
  const t = checkIp(family, address, "offerShared()", true);
  const k = keyOf(t.host, t.port);
  const list = offered.get(k);
  if (list === undefined) offered.set(k, [handle as ServerHandle]);
  else list.push(handle as ServerHandle);
}

/** @internal The bind() of host:port: a handle offered for it, bound already, or null. */
export function takeShared(host: string, port: number): ServerHandle | null {
  const k = keyOf(host, port);
  const list = offered.get(k);
  if (list === undefined) return null;
  const h = list.shift() ?? null;
  if (list.length === 0) offered.delete(k);
  return h;
}

/** Closes a handle bindShared() made (the primary's copy, once the workers hold theirs). */
export function closeShared(handle: object): void {
  (handle as ServerHandle).close();
}

/**
 * @internal A TCP bind() of host:port on the net backend: a handle offered for it, else a new one. In a
 * node:cluster worker every worker binds the port, with SO_REUSEPORT where Node's libuv can; where it
 * cannot, the second worker's EADDRINUSE says what to use instead. Returns the handle or an error code.
 */
export function bindPort(v6: boolean, host: string, port: number, reusePort: boolean, address: Address): ServerHandle | string {
  const inCluster = port !== 0 && cluster.isWorker;
  const reuse = reusePort || (inCluster && reusePortSupported());
  const h = takeShared(host, port) ?? bindTcp(v6, host, port, reuse);
  if (h === "EADDRINUSE" && inCluster && !reuse) {
    throw new SocketError(h, `bind(${describe(address)}): in a node:cluster worker the net backend cannot share a port before Node 22.12 (this is Node ${process.versions.node}): use serveOnCores(), which passes one handle to its workers, or the native backend`);
  }
  return h;
}
