// WASIX flavour: the same syscalls over wasix_32v1 (sock_open, sock_bind, sock_listen, sock_connect)
// and wasi_snapshot_preview1 (sock_accept, sock_recv, sock_send, sock_shutdown, poll_oneoff, fd_close).
// Results follow sys_host.ts: >= 0 success, -errno failure.
import { EAFNOSUPPORT, EINVAL, EAGAIN, ENOTSUP } from "./errno";

@external("wasix_32v1", "sock_open")
declare function wasix_sock_open(af: i32, ty: i32, proto: i32, retFd: usize): i32;
@external("wasix_32v1", "sock_bind")
declare function wasix_sock_bind(fd: i32, addr: usize): i32;
@external("wasix_32v1", "sock_listen")
declare function wasix_sock_listen(fd: i32, backlog: i32): i32;
@external("wasix_32v1", "sock_connect")
declare function wasix_sock_connect(fd: i32, addr: usize): i32;
@external("wasi_snapshot_preview1", "sock_accept")
declare function wasi_sock_accept(fd: i32, flags: i32, retFd: usize): i32;
@external("wasi_snapshot_preview1", "sock_recv")
declare function wasi_sock_recv(fd: i32, iovs: usize, iovsLen: i32, flags: i32, retLen: usize, retFlags: usize): i32;
@external("wasi_snapshot_preview1", "sock_send")
declare function wasi_sock_send(fd: i32, iovs: usize, iovsLen: i32, flags: i32, retLen: usize): i32;
@external("wasi_snapshot_preview1", "poll_oneoff")
declare function wasi_poll_oneoff(subs: usize, events: usize, n: i32, retN: usize): i32;
@external("wasi_snapshot_preview1", "fd_fdstat_set_flags")
declare function wasi_fd_fdstat_set_flags(fd: i32, flags: i32): i32;
@external("wasi_snapshot_preview1", "fd_close")
declare function wasi_fd_close(fd: i32): i32;

@inline const AF_INET4: i32 = 1; // WASIX Addressfamily::Inet4
@inline const AF_INET6: i32 = 2; // Addressfamily::Inet6
@inline const SOCK_STREAM: i32 = 1; // Socktype::Stream
@inline const PROTO_TCP: i32 = 6; // SockProto::Tcp
@inline const FDFLAGS_NONBLOCK: i32 = 4;
@inline const EVENTTYPE_CLOCK: u8 = 0;
@inline const EVENTTYPE_FD_READ: u8 = 1;
@inline const EVENTTYPE_FD_WRITE: u8 = 2;
@inline const EVENT_HANGUP: u16 = 1;
@inline const POLLIN: u16 = 0x001;
@inline const POLLOUT: u16 = 0x004;
@inline const POLLERR: u16 = 0x008;
@inline const POLLHUP: u16 = 0x010;

// A preview1 subscription is 48 bytes, an event 32 bytes:
//   subscription: userdata u64 @0 | tag u8 @8 | fd u32 @16 (fd_read/fd_write) or
//                 clock id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40
//   event:        userdata u64 @0 | error u16 @8 | type u8 @10 | nbytes u64 @16 | flags u16 @24
@inline const SUB_SIZE: usize = 48;
@inline const EVENT_SIZE: usize = 32;

// Scratch: ret values @0..16, iovec @16, address @32 (28 bytes: tag u8, pad u8, port u16, IPv4 or IPv6 ...).
let scratch: usize = 0;
let subs: usize = 0;
let events: usize = 0;
let subsCap: i32 = 0;

function tmp(): usize {
  if (scratch == 0) scratch = heap.alloc(64);
  return scratch;
}

/** Parses one IPv6 group (1..4 hex digits); -1 when malformed. */
function hexGroup(t: string): i32 {
  if (t.length == 0 || t.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < t.length; i++) {
    let c = t.charCodeAt(i);
    let d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Fills 8 groups from IPv6 text ("::1", "fe80::a:b", full form; no zone, no dotted tail); false when malformed. */
function parseV6(h: string, groups: StaticArray<u16>): bool {
  let gap = h.indexOf("::");
  if (gap >= 0 && h.indexOf("::", gap + 1) >= 0) return false;
  let head = gap >= 0 ? h.substring(0, gap) : h;
  let tail = gap >= 0 ? h.substring(gap + 2) : "";
  let a = head.length > 0 ? head.split(":") : new Array<string>();
  let b = tail.length > 0 ? tail.split(":") : new Array<string>();
  if (gap < 0 ? a.length != 8 : a.length + b.length > 7) return false;
  for (let i = 0; i < 8; i++) groups[i] = 0;
  for (let i = 0; i < a.length; i++) {
    let v = hexGroup(a[i]);
    if (v < 0) return false;
    groups[i] = <u16>v;
  }
  for (let i = 0; i < b.length; i++) {
    let v = hexGroup(b[i]);
    if (v < 0) return false;
    groups[8 - b.length + i] = <u16>v;
  }
  return true;
}

let v6groups = new StaticArray<u16>(8);

/**
 * Encodes an IP address + port as a WASIX __wasi_addr_port_t (28 bytes: tag u8 @0, port u16 @2, then
 * IPv4's 4 bytes or IPv6's 8 groups @4); false when the text is not an address of that family.
 * @wasmer/sdk 0.16 reads the port in native (little-endian) order and the IPv6 address as 16 bytes in
 * network order.
 */
function encodeAddr(host: string, port: i32, at: usize, family: i32): bool {
  memory.fill(at, 0, 28);
  let h = host == "localhost" ? (family == 6 ? "::1" : "127.0.0.1") : host;
  store<u16>(at, <u16>port, 2);
  if (family == 6) {
    if (!parseV6(h, v6groups)) return false;
    store<u8>(at, <u8>AF_INET6);
    for (let i = 0; i < 8; i++) store<u16>(at + 4 + (<usize>i << 1), bswap<u16>(v6groups[i])); // network order
    return true;
  }
  let parts = h.split(".");
  if (parts.length != 4) return false;
  store<u8>(at, <u8>AF_INET4);
  for (let i = 0; i < 4; i++) {
    let v = I32.parseInt(parts[i], 10);
    if (isNaN(<f64>v) || v < 0 || v > 255 || parts[i].length == 0) return false;
    store<u8>(at + 4 + i, <u8>v);
  }
  return true;
}

/** The family each descriptor was opened with (4 or 6), by descriptor. */
let families = new Map<i32, i32>();

function familyOf(fd: i32): i32 {
  return families.has(fd) ? families.get(fd) : 4;
}

export function sysOpen(family: i32): i32 {
  if (family != 4 && family != 6) return -EAFNOSUPPORT;
  let t = tmp();
  let rc = wasix_sock_open(family == 6 ? AF_INET6 : AF_INET4, SOCK_STREAM, PROTO_TCP, t);
  if (rc != 0) return -rc;
  let fd = load<i32>(t);
  wasi_fd_fdstat_set_flags(fd, FDFLAGS_NONBLOCK);
  families.set(fd, family);
  return fd;
}

export function sysBind(fd: i32, host: string, port: i32): i32 {
  let t = tmp();
  if (!encodeAddr(host, port, t + 32, familyOf(fd))) return -EAFNOSUPPORT;
  return -wasix_sock_bind(fd, t + 32);
}

export function sysListen(fd: i32, backlog: i32): i32 {
  return -wasix_sock_listen(fd, backlog);
}

export function sysAccept(fd: i32): i32 {
  let t = tmp();
  let rc = wasi_sock_accept(fd, FDFLAGS_NONBLOCK, t);
  return rc != 0 ? -rc : load<i32>(t);
}

export function sysConnect(fd: i32, host: string, port: i32): i32 {
  let t = tmp();
  if (!encodeAddr(host, port, t + 32, familyOf(fd))) return -EAFNOSUPPORT;
  return -wasix_sock_connect(fd, t + 32);
}

export function sysSend(fd: i32, ptr: usize, len: usize): i32 {
  let t = tmp();
  store<u32>(t + 16, <u32>ptr);
  store<u32>(t + 20, <u32>len);
  let rc = wasi_sock_send(fd, t + 16, 1, 0, t);
  return rc != 0 ? -rc : load<i32>(t);
}

export function sysRecv(fd: i32, ptr: usize, len: usize): i32 {
  let t = tmp();
  store<u32>(t + 16, <u32>ptr);
  store<u32>(t + 20, <u32>len);
  let rc = wasi_sock_recv(fd, t + 16, 1, 0, t, t + 8);
  return rc != 0 ? -rc : load<i32>(t);
}

export function sysClose(fd: i32): i32 {
  families.delete(fd);
  pendingErrors.delete(fd);
  return -wasi_fd_close(fd);
}

/** The pending error is reported through poll_oneoff's event error field (see sysPoll). */
let pendingErrors = new Map<i32, i32>();

export function sysError(fd: i32): i32 {
  if (!pendingErrors.has(fd)) return 0;
  let e = pendingErrors.get(fd);
  pendingErrors.delete(fd);
  return e;
}

export function sysLocalPort(fd: i32): i32 {
  return -EINVAL; // the SDK reports the requested address, byte-swapped: the caller keeps its own
}

/**
 * poll(2) over {fd, events, revents} records through poll_oneoff. `timeoutMs` < 0 waits
 * without a deadline. Returns how many records have revents set.
 */
export function sysPoll(fds: usize, n: i32, timeoutMs: i32): i32 {
  let need = n * 2 + 1;
  if (need > subsCap) {
    subsCap = max(need, subsCap * 2);
    if (subs != 0) { heap.free(subs); heap.free(events); }
    subs = heap.alloc(<usize>subsCap * SUB_SIZE);
    events = heap.alloc(<usize>subsCap * EVENT_SIZE);
  }
  let k = 0;
  for (let i = 0; i < n; i++) {
    let rec = fds + (<usize>i << 3);
    store<u16>(rec, 0, 6);
    let want = load<u16>(rec, 4);
    for (let dir = 0; dir < 2; dir++) {
      if ((want & (dir == 0 ? POLLIN : POLLOUT)) == 0) continue;
      let s = subs + <usize>k * SUB_SIZE;
      memory.fill(s, 0, SUB_SIZE);
      store<u64>(s, <u64>(i * 2 + dir));
      store<u8>(s, dir == 0 ? EVENTTYPE_FD_READ : EVENTTYPE_FD_WRITE, 8);
      store<u32>(s, load<u32>(rec), 16);
      k++;
    }
  }
  if (timeoutMs >= 0 || k == 0) {
    let s = subs + <usize>k * SUB_SIZE;
    memory.fill(s, 0, SUB_SIZE);
    store<u64>(s, 0xffffffffffffffff);
    store<u8>(s, EVENTTYPE_CLOCK, 8);
    store<u32>(s, 1, 16); // monotonic
    // a zero timeout blocks in @wasmer/sdk 0.16: ask for one microsecond instead
    store<u64>(s, timeoutMs > 0 ? <u64>timeoutMs * 1000000 : 1000, 24);
    if (timeoutMs < 0) store<u64>(s, 3600 * 1000000000, 24); // nothing to wait for: sleep, re-check
    k++;
  }
  let t = tmp();
  let rc = wasi_poll_oneoff(subs, events, k, t);
  if (rc != 0) return -rc;
  let got = load<u32>(t);
  let ready = 0;
  for (let j: u32 = 0; j < got; j++) {
    let e = events + <usize>j * EVENT_SIZE;
    let ud = load<u64>(e);
    if (ud == 0xffffffffffffffff) continue;
    let i = <i32>(ud >> 1);
    let rec = fds + (<usize>i << 3);
    let before = load<u16>(rec, 6);
    let bits: u16 = (ud & 1) == 0 ? POLLIN : POLLOUT;
    let err = load<u16>(e, 8);
    if (err != 0 && <i32>err != EAGAIN) { bits |= POLLERR; pendingErrors.set(load<i32>(rec), <i32>err); }
    if ((load<u16>(e, 24) & EVENT_HANGUP) != 0) bits |= POLLHUP;
    store<u16>(rec, before | bits, 6);
    if (before == 0) ready++;
  }
  return ready;
}

// Datagrams: @wasmer/sdk 0.16 under Node has no UDP (its Node network bridge, dist/node-network.js,
// implements TCP connect and listen only), so this flavour cannot be tested there and refuses
// SOCK_DGRAM with ENOTSUP rather than ship untested calls (README: Servers in WebAssembly).

export function sysOpenDgram(family: i32): i32 {
  return -ENOTSUP;
}

export function sysSendTo(fd: i32, ptr: usize, len: usize, host: string, port: i32): i32 {
  return -ENOTSUP;
}

export function sysRecvFrom(fd: i32, ptr: usize, len: usize, addr: usize, addrCap: usize): i32 {
  return -ENOTSUP;
}
