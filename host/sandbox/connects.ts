// A module's outbound connect (sock_connect of host/sandbox/sockets.ts): the state checks, the grant,
// then the connect itself, which completes through the loop (POLLOUT once connected, POLLERR and
// sock_error's errno when refused or unreachable). Every refusal is an errno for the module; nothing
// outside the --allow-connect grants reaches the network. In-flight connects hold a descriptor each,
// so the module's descriptor budget (limits.maxFds, and the process's) bounds a connect storm.
import type * as net from "node:net";
import * as sys from "../sys/net/module-tcp.js";
import { wasiErrno, WASI_ERRNO as E } from "./abi.js";
import type { Grants } from "./grants.js";

/** The part of a socket-table entry a connect reads and sets. */
export interface Connectable {
  /** "fresh" until bound, listening, connecting or connected. */
  state: string;
  /** 4 or 6, fixed at sock_open. */
  family: 4 | 6;
  /** The Node stream, once connecting. */
  stream: net.Socket | null;
}

/**
 * Starts a connect for `e`: 0, or -errno — EISCONN (connected), EALREADY (a connect is in flight, or
 * failed and was not closed), EINVAL (bound or listening; port 0; a target Node refuses at once),
 * whatever `target()` answered for bad text or ports (EINVAL, EAFNOSUPPORT), EACCES outside the grants.
 */
export function startConnect(e: Connectable, target: () => { host: string; port: number } | number, grants: Grants, denied: string[], sink: () => sys.StreamSink): number {
  if (e.state === "connected") return -E.EISCONN;
  if (e.state === "connecting") return -E.EALREADY;
  if (e.state !== "fresh") return -E.EINVAL;
  const t = target();
  if (typeof t === "number") return t;
  if (t.port === 0) return -E.EINVAL; // not an address one connects to, though a grant may name it
  if (!grants.mayConnect(t.host, t.port)) {
    denied.push(`connect ${t.host}:${t.port}`);
    return -E.EACCES;
  }
  try {
    e.stream = sys.connect({ host: t.host, port: t.port, family: e.family }, sink());
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return -(typeof code === "string" && code in E ? wasiErrno(code) : E.EINVAL);
  }
  e.state = "connecting";
  return 0;
}
