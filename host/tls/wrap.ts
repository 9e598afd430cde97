// SSLContext.wrapSocket()'s options and the checks of its arguments (each error names the argument and value).
import { Socket } from "../socket/socket.js";
import { SOCK_STREAM } from "../core/constants.js";
import { SocketError } from "../core/errors.js";
import { describe } from "../core/address.js";
import type { SSLContext } from "./context.js";

const PROTOCOL_TLS_SERVER = 17;

/** Options of SSLContext.wrapSocket(). */
export interface WrapOptions {
  /** This side is the server (default false). Python: server_side */
  serverSide?: boolean;
  /**
   * true (default): the engine completes the handshake before the channel's first handleRead()/
   * handleWrite() (and a client's handleConnect()); recv()/send() behave like a plain Socket's
   * (EAGAIN). false: as Python, doHandshake()/recv()/send() throw SSLWantReadError/SSLWantWriteError.
   * Python: do_handshake_on_connect
   */
  doHandshakeOnConnect?: boolean;
  /** The server's name: sent as SNI and checked against its certificate (client side). Python: server_hostname */
  serverHostname?: string | null;
  /** recv() returns an empty Buffer when the peer closes without close_notify (default true). Python: suppress_ragged_eofs */
  suppressRaggedEofs?: boolean;
}
const OPTIONS = new Set(["serverSide", "doHandshakeOnConnect", "serverHostname", "suppressRaggedEofs"]);


/** Checks wrapSocket()'s arguments (all but "already an SSLSocket", which socket.ts checks); returns the socket. */
export function checkWrapArgs(sock: unknown, ctx: SSLContext, options: unknown): Socket {
  if (!(sock instanceof Socket)) throw new TypeError(`wrapSocket(): sock must be a Socket, got ${describe(sock)}`);
  if (sock.type !== SOCK_STREAM) throw new TypeError("wrapSocket(): only SOCK_STREAM sockets can carry TLS");
  if (sock.closed) throw new SocketError("EBADF", "wrapSocket() on a closed socket");
  if (options === null || typeof options !== "object") throw new TypeError(`wrapSocket(): options must be an object, got ${describe(options)}`);
  for (const k of Object.keys(options)) if (!OPTIONS.has(k)) throw new TypeError(`wrapSocket(): unknown option '${k}' (known: ${[...OPTIONS].join(", ")})`);
  const o = options as WrapOptions;
  for (const k of ["serverSide", "doHandshakeOnConnect", "suppressRaggedEofs"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new TypeError(`wrapSocket(): ${k} must be a boolean, got ${describe(o[k])}`);
  }
  const host = o.serverHostname;
  if (host !== undefined && host !== null && (typeof host !== "string" || host === "")) throw new TypeError(`wrapSocket(): serverHostname must be a non-empty string, got ${describe(host)}`);
  const server = o.serverSide === true;
  if (server && ctx.protocol !== PROTOCOL_TLS_SERVER) throw new RangeError("wrapSocket(): cannot create a server socket with a PROTOCOL_TLS_CLIENT context");
  if (!server && ctx.protocol === PROTOCOL_TLS_SERVER) throw new RangeError("wrapSocket(): cannot create a client socket with a PROTOCOL_TLS_SERVER context");
  if (server && host) throw new RangeError("wrapSocket(): serverHostname is for client sockets only");
  if (!server && ctx.checkHostname && !host) throw new RangeError("wrapSocket(): checkHostname requires serverHostname");
  if (server && !ctx.hasCertificate && ctx.sniCallback === null) throw new RangeError("wrapSocket(): a server socket needs a certificate: call ctx.loadCertChain() first");
  return sock;
}

