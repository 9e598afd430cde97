// Host flavour: the socket syscalls the Node runner grants (host/sandbox/sockets.ts implements them).
// Numbers and (pointer, length) only. Results: >= 0 success, -errno failure (WASI numbering).
// Every socket is non-blocking; sock_poll never waits (the host drives passes).

/** Opens a stream socket (family 4 or 6); the new descriptor or -errno. */
@external("wasyncore_sock_v1", "sock_open")
export declare function sock_open(family: i32): i32;
/** Binds to the UTF-8 host text at (ptr, len) and a port; 0 or -errno (EACCES outside the grant). */
@external("wasyncore_sock_v1", "sock_bind")
export declare function sock_bind(fd: i32, host: usize, hostLen: usize, port: i32): i32;
/** Starts listening; 0 or -errno. */
@external("wasyncore_sock_v1", "sock_listen")
export declare function sock_listen(fd: i32, backlog: i32): i32;
/** Takes one pending connection; its descriptor or -EAGAIN. */
@external("wasyncore_sock_v1", "sock_accept")
export declare function sock_accept(fd: i32): i32;
/** Starts a connect (completion shows as POLLOUT); 0 or -errno (EACCES outside the grant). */
@external("wasyncore_sock_v1", "sock_connect")
export declare function sock_connect(fd: i32, host: usize, hostLen: usize, port: i32): i32;
/** Sends bytes at (ptr, len); the count taken or -errno (-EAGAIN when the host buffer is full). */
@external("wasyncore_sock_v1", "sock_send")
export declare function sock_send(fd: i32, ptr: usize, len: usize): i32;
/** Receives into (ptr, len); the count (0 = the peer closed) or -errno (-EAGAIN: nothing yet). */
@external("wasyncore_sock_v1", "sock_recv")
export declare function sock_recv(fd: i32, ptr: usize, len: usize): i32;
/** Closes; bytes already sent are still delivered. 0 or -errno. */
@external("wasyncore_sock_v1", "sock_close")
export declare function sock_close(fd: i32): i32;
/** poll(2) over `n` {fd i32, events u16, revents u16} records; fills revents, returns how many are set. */
@external("wasyncore_sock_v1", "sock_poll")
export declare function sock_poll(fds: usize, n: i32): i32;
/** The pending error of a socket (SO_ERROR), cleared by the call; 0 when none. */
@external("wasyncore_sock_v1", "sock_error")
export declare function sock_error(fd: i32): i32;
/** The bound local port, or -errno. */
@external("wasyncore_sock_v1", "sock_local_port")
export declare function sock_local_port(fd: i32): i32;
