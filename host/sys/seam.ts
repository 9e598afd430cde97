// The seam between the public Socket (host/socket/) and the syscall backends (host/sys/net/, host/sys/native/).
//
// Each backend provides a stream and a datagram socket that implement SocketImpl; the public Socket
// checks arguments and that the socket is open, then calls these. Nothing above this file knows
// which backend a socket has (as mio's portable API sits on src/sys/<platform>/). An impl owns its
// core channel (its token) from construction to close(), and turns its OS events into that
// channel's readiness in the core.
import type { Buffer } from "node:buffer";
import type { Address } from "../core/address.js";
import type { SocketError } from "../core/errors.js";

/** The syscall backends: 'native' (the epoll addon, Linux) and 'net' (Node's libuv handles). */
export type BackendName = "net" | "native";

/** One backend's socket (stream or datagram). Arguments are checked by the caller (host/socket/socket.ts). */
export interface SocketImpl {
  /** The backend that made it. */
  readonly backend: BackendName;
  /** The core channel's token (fileno()). */
  readonly token: number;
  /** Has close() run? */
  readonly closed: boolean;
  /** The kernel's descriptor where the backend has one (native), else -1; -1 once closed. */
  readonly osFd: number;
  bind(address: Address): void;
  /** `backlog` is an integer in 0..65535. */
  listen(backlog: number): void;
  /** A pending connection as a new impl of the same backend and its peer address, or null when none is pending. */
  acceptOrNull(): [SocketImpl, Address] | null;
  connect(address: Address): void;
  /** `n` and `flags` are non-negative integers. */
  recv(n: number, flags: number): Buffer;
  /**
   * Python: recv_into — up to `n` bytes (1 ≤ n ≤ buffer.length) into `buffer` from its start, no
   * allocation; 0 at EOF; errors as recv(). Optional: without it, Socket copies recv()'s result.
   */
  recvInto?(buffer: Uint8Array, n: number, flags: number): number;
  /** `data` is a Uint8Array; `flags` a non-negative integer. */
  send(data: Uint8Array, flags: number): number;
  sendto(data: Uint8Array, address: Address): number;
  recvfrom(n: number): [Buffer, Address];
  /** Python: socket.shutdown(how); `how` is 0, 1 or 2. */
  shutdown(how: number): void;
  getsockname(): Address;
  getpeername(): Address;
  /** `value` is an integer. */
  setsockopt(level: number, option: number, value: number): void;
  getsockopt(level: number, option: number): number;
  /** The pending error (the one SO_ERROR reports), or null; not cleared. */
  pendingError(): SocketError | null;
  /** The channel's send window or input pause bound changed in the core: resume reading if now below it. */
  limitsChanged(): void;
  /** Input was consumed in the core outside recv() (AsyncChat's framer): resume a paused reader. */
  inputConsumed(): void;
  /** Has the peer's EOF been reached, with nothing left beyond what the core holds? */
  atEof(): boolean;
  /** Idempotent; bytes send() took are still delivered. */
  close(): void;
  /** The state for repr(): 'connected', 'listening, native fd 7', … */
  describe(): string;
}
