// Socket and poll constants, numbered as Linux numbers them.

/** Python: socket.AF_INET */
export const AF_INET = 2;
/** Python: socket.AF_INET6 */
export const AF_INET6 = 10;
/** Python: socket.AF_UNIX */
export const AF_UNIX = 1;
/** Python: socket.SOCK_STREAM */
export const SOCK_STREAM = 1;
/** Python: socket.SOCK_DGRAM */
export const SOCK_DGRAM = 2;
/** Python: socket.SOL_SOCKET */
export const SOL_SOCKET = 1;
/** Python: socket.SO_REUSEADDR */
export const SO_REUSEADDR = 2;
/** Python: socket.SO_REUSEPORT — several sockets (processes, threads) listen on one port; the kernel spreads connections. */
export const SO_REUSEPORT = 15;
/** Python: socket.SO_ERROR */
export const SO_ERROR = 4;
/** Python: socket.SO_BROADCAST */
export const SO_BROADCAST = 6;
/** Python: socket.SO_SNDBUF */
export const SO_SNDBUF = 7;
/** Python: socket.SO_RCVBUF */
export const SO_RCVBUF = 8;
/** Python: socket.SO_KEEPALIVE */
export const SO_KEEPALIVE = 9;
/** Python: socket.IPPROTO_TCP */
export const IPPROTO_TCP = 6;
/** Python: socket.TCP_NODELAY */
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

/** Python: select.POLLIN */
export const POLLIN = 0x001;
/** Python: select.POLLPRI */
export const POLLPRI = 0x002;
/** Python: select.POLLOUT */
export const POLLOUT = 0x004;
/** Python: select.POLLERR */
export const POLLERR = 0x008;
/** Python: select.POLLHUP */
export const POLLHUP = 0x010;
/** Python: select.POLLNVAL */
export const POLLNVAL = 0x020;
/** Python: socket.MSG_OOB (recv/send flags; the native backend only) */
export const MSG_OOB = 0x1;
/** Python: socket.MSG_PEEK (recv flags; the native backend only) */
export const MSG_PEEK = 0x2;
