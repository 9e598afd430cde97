// The syscall seam: every socket call a server module makes goes through here. The flavour is
// chosen at compile time by the WASYNCORE_WASIX constant (`wasyncore build --target`, an asc `--use` constant), so a module imports
// either the host's namespace (wasyncore_sock_v3, or v1 with WASYNCORE_ABI=1: sys_host_abi.ts) or WASIX's, never both.
import * as host from "./sys_host_abi";
import * as wasix from "./sys_wasix";

/** Opens a non-blocking stream socket: its descriptor or -errno. */
export function sysOpen(family: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysOpen(family);
  return host.sock_open(family);
}

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

/** 0 or -errno. */
export function sysBind(fd: i32, hostName: string, port: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysBind(fd, hostName, port);
  let b = utf8(hostName);
  return host.sock_bind(fd, changetype<usize>(b), <usize>b.byteLength, port);
}

/** 0 or -errno. */
export function sysListen(fd: i32, backlog: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysListen(fd, backlog);
  return host.sock_listen(fd, backlog);
}

/** A new descriptor, or -errno (-EAGAIN when nothing is pending). */
export function sysAccept(fd: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysAccept(fd);
  return host.sock_accept(fd);
}

/** 0 (started or done; completion is POLLOUT) or -errno. */
export function sysConnect(fd: i32, hostName: string, port: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysConnect(fd, hostName, port);
  let b = utf8(hostName);
  return host.sock_connect(fd, changetype<usize>(b), <usize>b.byteLength, port);
}

/** Bytes taken, or -errno. */
export function sysSend(fd: i32, ptr: usize, len: usize): i32 {
  if (WASYNCORE_WASIX) return wasix.sysSend(fd, ptr, len);
  return host.sock_send(fd, ptr, len);
}

/** Bytes received (0 = the peer closed), or -errno. */
export function sysRecv(fd: i32, ptr: usize, len: usize): i32 {
  if (WASYNCORE_WASIX) return wasix.sysRecv(fd, ptr, len);
  return host.sock_recv(fd, ptr, len);
}

/** 0 or -errno. */
export function sysClose(fd: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysClose(fd);
  return host.sock_close(fd);
}

/** The socket's pending error (SO_ERROR), cleared; 0 when none. */
export function sysError(fd: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysError(fd);
  return host.sock_error(fd);
}

/** The bound port, or -errno when the runtime cannot tell. */
export function sysLocalPort(fd: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysLocalPort(fd);
  return host.sock_local_port(fd);
}

/** poll(2) over {fd i32, events u16, revents u16} records; waits up to timeoutMs (< 0: no limit) in WASIX only. */
export function sysPoll(fds: usize, n: i32, timeoutMs: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysPoll(fds, n, timeoutMs);
  return host.sock_poll(fds, n);
}

/** Opens a non-blocking datagram socket (family 4 or 6): its descriptor or -errno. */
export function sysOpenDgram(family: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysOpenDgram(family);
  return host.sock_open_dgram(family);
}

/** Sends one datagram to host:port: the bytes sent, or -errno. */
export function sysSendTo(fd: i32, ptr: usize, len: usize, hostName: string, port: i32): i32 {
  if (WASYNCORE_WASIX) return wasix.sysSendTo(fd, ptr, len, hostName, port);
  let b = utf8(hostName);
  return host.sock_sendto(fd, ptr, len, changetype<usize>(b), <usize>b.byteLength, port);
}

/** Takes one datagram (truncated to len): the bytes copied, or -errno; the sender record at addr (sys_host_abi.ts). */
export function sysRecvFrom(fd: i32, ptr: usize, len: usize, addr: usize, addrCap: usize): i32 {
  if (WASYNCORE_WASIX) return wasix.sysRecvFrom(fd, ptr, len, addr, addrCap);
  return host.sock_recvfrom(fd, ptr, len, addr, addrCap);
}
