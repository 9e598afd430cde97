// The socket options the `net` backend keeps itself (libuv has no setsockopt): their names by (level, option).
import { SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT, SO_ERROR, SO_KEEPALIVE, IPPROTO_TCP, TCP_NODELAY } from "../../core/constants.js";
import { SocketError } from "../../core/errors.js";
import { describe } from "../../core/address.js";
import { reusePortSupported } from "./handles.js";

/** The option name setsockopt()/getsockopt() keep for a (level, option) pair; throws ENOPROTOOPT for others. */
export function optionName(level: number, option: number, what: string): string {
  if (level === SOL_SOCKET && option === SO_REUSEADDR) return "reuseaddr";
  if (level === SOL_SOCKET && option === SO_REUSEPORT) {
    // libuv sets it at bind (UV_TCP_REUSEPORT), which Node's handles accept from Node 22.12 on
    if (what === "setsockopt" && !reusePortSupported()) {
      throw new SocketError("ENOPROTOOPT", `setsockopt(SOL_SOCKET, SO_REUSEPORT): the net backend needs Node >= 22.12 for it (this is Node ${process.versions.node}); the native backend has it on any Node`);
    }
    return "reuseport";
  }
  if (level === SOL_SOCKET && option === SO_ERROR) {
    if (what === "setsockopt") throw new SocketError("ENOPROTOOPT", "setsockopt(SOL_SOCKET, SO_ERROR): read-only option");
    return "error";
  }
  if (level === SOL_SOCKET && option === SO_KEEPALIVE) return "keepalive";
  if (level === IPPROTO_TCP && option === TCP_NODELAY) return "nodelay";
  throw new SocketError("ENOPROTOOPT", `${what}(${describe(level)}, ${describe(option)}): option not supported on Node`);
}
