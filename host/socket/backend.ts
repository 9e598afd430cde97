// Which syscall backend new sockets (stream and datagram) use: 'native' (the epoll addon, Linux) or 'net' (node:net).
//
// Chosen by configure({ backend }), else WASYNCORE_BACKEND=native|net, else the default below.
// Sockets keep the backend they were created with. The native socket class registers itself
// here (host/sys/native/socket.ts), so socket.ts needs no import cycle to construct one.
import { describe } from "../core/address.js";
import { nativeUnavailable } from "../sys/native/addon.js";

/** A syscall backend's name. */
export type BackendName = "net" | "native";

/**
 * The backend used when neither configure() nor WASYNCORE_BACKEND chose one: 'auto' is native
 * where the addon was built and loads (Linux, after npm install), net everywhere else.
 */
export const DEFAULT_BACKEND: BackendName | "auto" = "auto";

let configured: BackendName | null = null;
let netOnlyDepth = 0;
let nativeStream: ((family: number, type: number) => object) | null = null;

const nativeClasses = new Set<unknown>();

/** Called once by host/sys/native/socket.ts: `factory` makes stream and datagram sockets; `classes` are what it makes. */
export function registerNativeStream(factory: (family: number, type: number) => object, ...classes: unknown[]): void {
  nativeStream = factory;
  for (const c of classes) nativeClasses.add(c);
}

/** Is `ctor` one of the native backend's socket classes (whose super() call must not build a `net` socket)? */
export function isNativeClass(ctor: unknown): boolean {
  return nativeClasses.size > 0 && nativeClasses.has(ctor);
}

function check(name: unknown, where: string): BackendName {
  if (name !== "net" && name !== "native") throw new RangeError(`${where}: backend must be 'native' or 'net', got ${describe(name)}`);
  if (name === "native") {
    const why = nativeUnavailable();
    if (why !== null) throw new Error(`${where}: the native backend is not available here: ${why}`);
  }
  return name;
}

/** Sets the backend for sockets created from now on (null: back to WASYNCORE_BACKEND / the default). */
export function setBackend(name: BackendName | null): void {
  configured = name === null ? null : check(name, "configure()");
}

/** The backend a socket created now gets. */
export function currentBackend(): BackendName {
  if (configured !== null) return configured;
  const env = process.env.WASYNCORE_BACKEND;
  if (env !== undefined && env !== "") return check(env, "WASYNCORE_BACKEND");
  if (DEFAULT_BACKEND === "auto") return nativeUnavailable() === null && nativeStream !== null ? "native" : "net";
  return DEFAULT_BACKEND;
}

/** Runs `make` with the `net` backend whatever is configured (a net listener's accepted sockets are net ones). */
export function netOnly<T>(make: () => T): T {
  netOnlyDepth++;
  try {
    return make();
  } finally {
    netOnlyDepth--;
  }
}

/** A native socket (stream or datagram) when that is the current backend, else null (the caller builds a `net` one). */
export function backendSocket(family: number, type: number): object | null {
  if (netOnlyDepth > 0 || currentBackend() !== "native") return null;
  if (nativeStream === null) throw new Error("wasyncore: the native backend's socket class was not loaded (import the package root)");
  return nativeStream(family, type);
}
