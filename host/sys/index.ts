// The syscall backends behind the seam (seam.ts): a new socket of either backend by name, and FileWrapper's I/O.
import { SOCK_DGRAM } from "../core/constants.js";
import type { BackendName, SocketImpl } from "./seam.js";
import { NetStreamSocket } from "./net/socket.js";
import { NetDatagramSocket } from "./net/datagram.js";
import { PublicStreamSocket } from "./net/public-socket.js";
import { PublicDatagramSocket } from "./net/public-datagram.js";
import { netPublicReason } from "./net/uv.js";
import { NativeStreamSocket, setShareBinds } from "./native/socket.js";
import { NativeDatagramImpl } from "./native/dgram.js";
import { dupDescriptor } from "./native/dup.js";
import { openDescriptor, type OpenedFile } from "./net/fs.js";

// FileWrapper's I/O (libuv pipes and synchronous file calls on both backends), through this door.
export { SyncIo, StreamIo, type FileIo } from "./net/filestream.js";
export { openStream, adoptStream, streamFd, closeQuietly, type OpenedFile } from "./net/fs.js";

export type { BackendName, SocketImpl } from "./seam.js";
export { netPublicReason } from "./net/uv.js";

// Several cores on one port (host/cores/): the net backend's shared handles, the native backend's SO_REUSEPORT binds.
export { bindShared, offerShared, closeShared } from "./net/shared.js";
export { setShareBinds };

/** A new socket of `backend`; `family` and `type` were checked by the caller. */
export function openSocket(backend: BackendName, family: number, type: number): SocketImpl {
  if (backend === "native") return type === SOCK_DGRAM ? new NativeDatagramImpl(family) : new NativeStreamSocket(family);
  // `net` without process.binding (Node's permission model, or WASYNCORE_NET_PUBLIC=1): the public node:net/node:dgram API
  if (netPublicReason() !== null) return type === SOCK_DGRAM ? new PublicDatagramSocket(family) : new PublicStreamSocket(family);
  return type === SOCK_DGRAM ? new NetDatagramSocket(family) : new NetStreamSocket(family);
}

/**
 * A descriptor of FileWrapper's own for `fd`: a true dup(2) on the native backend (any descriptor,
 * shared offset, as CPython); on `net`, or where dup is not available, a reopen (host/sys/net/fs.ts).
 */
export function openFile(fd: number, backend: BackendName): OpenedFile {
  return (backend === "native" ? dupDescriptor(fd) : null) ?? openDescriptor(fd);
}
