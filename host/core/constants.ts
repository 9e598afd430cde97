// Socket and poll constants, numbered as Linux numbers them.

/** Address family IPv4: addresses are `[host, port]`. Python: socket.AF_INET */
export const AF_INET = 2;
/** Address family IPv6: addresses are `[host, port, flowinfo, scopeId]`. Python: socket.AF_INET6 */
export const AF_INET6 = 10;
/** Address family Unix domain: addresses are paths. Python: socket.AF_UNIX */
export const AF_UNIX = 1;
/** Socket type for byte streams (TCP, Unix streams). Python: socket.SOCK_STREAM */
export const SOCK_STREAM = 1;
/** Socket type for datagrams (UDP, Unix datagrams). Python: socket.SOCK_DGRAM */
export const SOCK_DGRAM = 2;
/** The socket-level option level for setsockopt()/getsockopt(). Python: socket.SOL_SOCKET */
export const SOL_SOCKET = 1;
/** Option: bind a local address still in TIME_WAIT (what setReuseAddr() sets). Python: socket.SO_REUSEADDR */
export const SO_REUSEADDR = 2;
/** Python: socket.SO_REUSEPORT — several sockets (processes, threads) listen on one port; the kernel spreads connections. */
export const SO_REUSEPORT = 15;
/** Option (read-only): the pending error's errno, 0 when none. Python: socket.SO_ERROR */
export const SO_ERROR = 4;
/** Option: allow datagrams to broadcast addresses. Python: socket.SO_BROADCAST */
export const SO_BROADCAST = 6;
/** Option: the kernel's send buffer size (bytes). Python: socket.SO_SNDBUF */
export const SO_SNDBUF = 7;
/** Option: the kernel's receive buffer size (bytes). Python: socket.SO_RCVBUF */
export const SO_RCVBUF = 8;
/** Option: send TCP keep-alive probes on an idle connection. Python: socket.SO_KEEPALIVE */
export const SO_KEEPALIVE = 9;
/** The TCP option level for setsockopt()/getsockopt(). Python: socket.IPPROTO_TCP */
export const IPPROTO_TCP = 6;
/** Option: send small segments at once (no Nagle delay). Python: socket.TCP_NODELAY */
export const TCP_NODELAY = 1;
/** Python: socket.SO_OOBINLINE — urgent (MSG_OOB) data stays in the stream, read in order (native backend). */
export const SO_OOBINLINE = 10;
/** Python: socket.SO_LINGER — its value is a struct linger {int onoff; int seconds}: 8 bytes (native backend). */
export const SO_LINGER = 13;
/** Python: socket.SO_RCVLOWAT — the bytes a read waits for before the socket counts as readable (native backend). */
export const SO_RCVLOWAT = 18;
/** Python: socket.SO_SNDLOWAT — readable only: Linux refuses to set it (ENOPROTOOPT) (native backend). */
export const SO_SNDLOWAT = 19;
/** Python: socket.TCP_KEEPIDLE — idle seconds before the first keep-alive probe (native backend). */
export const TCP_KEEPIDLE = 4;
/** Python: socket.TCP_KEEPINTVL — seconds between keep-alive probes (native backend). */
export const TCP_KEEPINTVL = 5;
/** Python: socket.TCP_KEEPCNT — unanswered probes before the connection is dropped (native backend). */
export const TCP_KEEPCNT = 6;

/** readwrite() flag: readable (handleReadEvent()). Python: select.POLLIN */
export const POLLIN = 0x001;
/** readwrite() flag: urgent data (handleExptEvent()). Python: select.POLLPRI */
export const POLLPRI = 0x002;
/** readwrite() flag: writable (handleWriteEvent()). Python: select.POLLOUT */
export const POLLOUT = 0x004;
/** readwrite() flag: an error condition (handleClose()). Python: select.POLLERR */
export const POLLERR = 0x008;
/** readwrite() flag: the peer hung up (handleClose()). Python: select.POLLHUP */
export const POLLHUP = 0x010;
/** readwrite() flag: not an open descriptor (handleClose()). Python: select.POLLNVAL */
export const POLLNVAL = 0x020;
/** recv()/send() flag: urgent (out-of-band) data; the native backend only. Python: socket.MSG_OOB */
export const MSG_OOB = 0x1;
/** recv() flag: read without taking the bytes; the native backend only. Python: socket.MSG_PEEK */
export const MSG_PEEK = 0x2;
