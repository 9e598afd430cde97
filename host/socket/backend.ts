// Which syscall backend new sockets (stream and datagram) get: 'native' (the epoll addon, Linux) or 'net' (node:net).
//
// Chosen by configure({ backend }), else WASYNCORE_BACKEND=native|net, else the default below.
// Sockets keep the backend they were created with; a listener's accepted sockets have its backend.
import { debuglog } from "node:util";
import { describe } from "../core/address.js";
import { nativeUnavailable } from "../sys/native/addon.js";
import type { BackendName } from "../sys/seam.js";
import { netPublicReason } from "../sys/index.js";

export type { BackendName };

/**
 * The backend used when neither configure() nor WASYNCORE_BACKEND chose one: 'auto' is native
 * where the addon was built and loads (Linux, after npm install), net everywhere else.
 */
export const DEFAULT_BACKEND: BackendName | "auto" = "auto";

let configured: BackendName | null = null;

/** Checks a backend name (RangeError naming `where`), and that native loads here. */
export function checkBackend(name: unknown, where: string): BackendName {
  if (name !== "net" && name !== "native") throw new RangeError(`${where}: backend must be 'native' or 'net', got ${describe(name)}`);
  if (name === "native") {
    const why = nativeUnavailable();
    if (why !== null) throw new Error(`${where}: the native backend is not available here: ${why}`);
  }
  return name;
}

/** Sets the backend for sockets created from now on (null: back to WASYNCORE_BACKEND / the default). */
export function setBackend(name: BackendName | null): void {
  configured = name === null ? null : checkBackend(name, "configure()");
}

/** The backend a socket created now gets. */
export function currentBackend(): BackendName {
  if (configured !== null) return configured;
  const env = process.env.WASYNCORE_BACKEND;
  if (env !== undefined && env !== "") return checkBackend(env, "WASYNCORE_BACKEND");
  if (DEFAULT_BACKEND === "auto") return nativeUnavailable() === null ? "native" : "net";
  return DEFAULT_BACKEND;
}

/**
 * The backend a socket created now gets, and a reason (else null): why it is not 'native' when the
 * default wanted native, and on 'net' that it runs over the public node:net/node:dgram API and why.
 */
export function backendStatus(): { backend: BackendName; reason: string | null } {
  const { backend, reason } = nativeStatus();
  if (backend !== "net") return { backend, reason };
  const why = netPublicReason();
  if (why === null) return { backend, reason };
  const fallback = `net sockets use Node's public node:net/node:dgram API, slower than its libuv handles (${why})`;
  return { backend, reason: reason === null ? fallback : `${reason}; ${fallback}` };
}

function nativeStatus(): { backend: BackendName; reason: string | null } {
  try {
    const backend = currentBackend();
    if (backend === "native" || configured !== null) return { backend, reason: null };
    const env = process.env.WASYNCORE_BACKEND;
    if ((env !== undefined && env !== "") || DEFAULT_BACKEND !== "auto") return { backend, reason: null }; // net was chosen
    return { backend, reason: nativeUnavailable() };
  } catch (err) {
    // WASYNCORE_BACKEND names no backend, or native where it is unavailable: creating a socket throws this
    return { backend: "net", reason: err instanceof Error ? err.message : String(err) };
  }
}

const debug = debuglog("wasyncore");
let announced: BackendName | null = null;

/** The backend for a new socket; NODE_DEBUG=wasyncore says which, at the first socket and whenever it changes. */
export function backendForNewSocket(): BackendName {
  const name = currentBackend();
  if (name !== announced) {
    announced = name;
    const native = nativeStatus().reason;
    const pub = name === "net" ? netPublicReason() : null;
    debug("sockets use the %s backend%s%s", name, native !== null ? ` (native is not in use: ${native})` : "",
      pub !== null ? ` over Node's public node:net/node:dgram API (${pub})` : "");
  }
  return name;
}
