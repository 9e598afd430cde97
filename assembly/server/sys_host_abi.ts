// Host flavour by ABI version: the library imports every socket call from one namespace (the
// runner refuses a module that imports from two). A build of this library is ABI v3 (the
// WASYNCORE_ABI constant that `wasyncore build` sets): wasyncore_sock_v3, which has v1's functions
// unchanged plus the datagram calls below. WASYNCORE_ABI=1 builds against wasyncore_sock_v1 (sys_host.ts)
// as modules built before datagrams did; a datagram call there fails with ENOTSUP.
// Numbers and (pointer, length) only. Results: >= 0 success, -errno failure (WASI numbering).
import * as v1 from "./sys_host";
import { ENOTSUP } from "./errno";

@external("wasyncore_sock_v3", "sock_open")
declare function v3_open(family: i32): i32;
@external("wasyncore_sock_v3", "sock_bind")
declare function v3_bind(fd: i32, host: usize, hostLen: usize, port: i32): i32;
@external("wasyncore_sock_v3", "sock_listen")
declare function v3_listen(fd: i32, backlog: i32): i32;
@external("wasyncore_sock_v3", "sock_accept")
declare function v3_accept(fd: i32): i32;
@external("wasyncore_sock_v3", "sock_connect")
declare function v3_connect(fd: i32, host: usize, hostLen: usize, port: i32): i32;
@external("wasyncore_sock_v3", "sock_send")
declare function v3_send(fd: i32, ptr: usize, len: usize): i32;
@external("wasyncore_sock_v3", "sock_recv")
declare function v3_recv(fd: i32, ptr: usize, len: usize): i32;
@external("wasyncore_sock_v3", "sock_close")
declare function v3_close(fd: i32): i32;
@external("wasyncore_sock_v3", "sock_poll")
declare function v3_poll(fds: usize, n: i32): i32;
@external("wasyncore_sock_v3", "sock_error")
declare function v3_error(fd: i32): i32;
@external("wasyncore_sock_v3", "sock_local_port")
declare function v3_local_port(fd: i32): i32;

/** v3: opens a datagram (UDP) socket, family 4 or 6; the new descriptor or -errno. */
@external("wasyncore_sock_v3", "sock_open_dgram")
declare function v3_open_dgram(family: i32): i32;
/**
 * v3: sends one datagram of `len` bytes (0..65507; more is EMSGSIZE) at `ptr` to the IP literal at
 * (host, hostLen) and `port` (1..65535); `len` or -errno: EACCES unless the address is granted
 * (--allow-udp) or sent this socket a datagram lately (a --listen-udp socket's reply), EAGAIN over the
 * send budget or rate, EINVAL for a bad pointer, port or a host that is not an IP address.
 */
@external("wasyncore_sock_v3", "sock_sendto")
declare function v3_sendto(fd: i32, ptr: usize, len: usize, host: usize, hostLen: usize, port: i32): i32;
/**
 * v3: takes one datagram: copies at most `len` bytes to `ptr` (the rest of a longer datagram is
 * discarded, as recvfrom(2) does) and returns the count, or -EAGAIN when none waits. When `addrCap`
 * is not 0 (it must be at least 8) writes at `addr`: the sender's port u16, its host text's length
 * u16, the datagram's full length u32 (larger than the count: it was truncated), then the host text.
 */
@external("wasyncore_sock_v3", "sock_recvfrom")
declare function v3_recvfrom(fd: i32, ptr: usize, len: usize, addr: usize, addrCap: usize): i32;

export function sock_open(family: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_open(family) : v1.sock_open(family); }
export function sock_bind(fd: i32, host: usize, hostLen: usize, port: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_bind(fd, host, hostLen, port) : v1.sock_bind(fd, host, hostLen, port); }
export function sock_listen(fd: i32, backlog: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_listen(fd, backlog) : v1.sock_listen(fd, backlog); }
export function sock_accept(fd: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_accept(fd) : v1.sock_accept(fd); }
export function sock_connect(fd: i32, host: usize, hostLen: usize, port: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_connect(fd, host, hostLen, port) : v1.sock_connect(fd, host, hostLen, port); }
export function sock_send(fd: i32, ptr: usize, len: usize): i32 { return WASYNCORE_ABI >= 3 ? v3_send(fd, ptr, len) : v1.sock_send(fd, ptr, len); }
export function sock_recv(fd: i32, ptr: usize, len: usize): i32 { return WASYNCORE_ABI >= 3 ? v3_recv(fd, ptr, len) : v1.sock_recv(fd, ptr, len); }
export function sock_close(fd: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_close(fd) : v1.sock_close(fd); }
export function sock_poll(fds: usize, n: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_poll(fds, n) : v1.sock_poll(fds, n); }
export function sock_error(fd: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_error(fd) : v1.sock_error(fd); }
export function sock_local_port(fd: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_local_port(fd) : v1.sock_local_port(fd); }
export function sock_open_dgram(family: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_open_dgram(family) : -ENOTSUP; }
export function sock_sendto(fd: i32, ptr: usize, len: usize, host: usize, hostLen: usize, port: i32): i32 { return WASYNCORE_ABI >= 3 ? v3_sendto(fd, ptr, len, host, hostLen, port) : -ENOTSUP; }
export function sock_recvfrom(fd: i32, ptr: usize, len: usize, addr: usize, addrCap: usize): i32 { return WASYNCORE_ABI >= 3 ? v3_recvfrom(fd, ptr, len, addr, addrCap) : -ENOTSUP; }
