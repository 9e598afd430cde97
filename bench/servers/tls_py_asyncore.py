"""CPython asyncore + ssl HTTPS "hello" peer for bench/tls-compare.mjs, in the shape of CPython's
test_ssl AsyncoreEchoServer: wrap_socket(server_side=True, do_handshake_on_connect=False),
do_handshake() driven from handle_read/handle_write, pending() drained in readable().

usage: python3 tls_py_asyncore.py CERT KEY keepalive|close   (prints its port, then serves)
"""
import socket
import ssl
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore

TERMINATOR = b"\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
# close mode: the response says it closes (wrk then counts no read error)
CLOSING = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"


class Handler(asyncore.dispatcher_with_send):
    def __init__(self, sock, ctx, close_after):
        super().__init__(ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False))
        self.handshaking = True
        self.tail = b""
        self.close_after = close_after
        self.closing = False

    def readable(self):
        while not self.handshaking and self.socket.pending() > 0:
            self.handle_read_event()
        return True

    def writable(self):
        return self.handshaking or len(self.out_buffer) > 0

    def do_handshake(self):
        try:
            self.socket.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except (ssl.SSLError, OSError):
            return self.handle_close()
        self.handshaking = False

    def handle_read(self):
        if self.handshaking:
            return self.do_handshake()
        try:
            data = self.recv(65536)
        except ssl.SSLWantReadError:
            return
        if not data:
            return
        buf = self.tail + data if self.tail else data
        count = buf.count(TERMINATOR)
        if count:
            self.tail = buf[buf.rfind(TERMINATOR) + 4:]
            if not self.close_after:
                self.send(RESPONSE * count)
            else:
                self.send(CLOSING)
                self.closing = True
                if not self.out_buffer:
                    self.close()
        else:
            self.tail = buf

    def handle_write(self):
        if self.handshaking:
            return self.do_handshake()
        self.initiate_send()
        if self.closing and not self.out_buffer:
            self.close()

    def handle_close(self):
        self.close()

    def handle_error(self):
        self.close()


class Listener(asyncore.dispatcher):
    def __init__(self, ctx, close_after):
        super().__init__()
        self.ctx = ctx
        self.close_after = close_after
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(1024)

    def handle_accept(self):
        for _ in range(64):
            pair = self.accept()
            if pair is None:
                return
            Handler(pair[0], self.ctx, self.close_after)


def main():
    cert, key, mode = sys.argv[1:4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = Listener(ctx, mode == "close")
    print(server.socket.getsockname()[1], flush=True)
    asyncore.loop(timeout=30, use_poll=True)


if __name__ == "__main__":
    main()
