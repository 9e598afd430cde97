"""CPython asyncore/asynchat peers (the seed's system).

usage: python3 py_asyncore.py http|echo|chat   (prints its port, then serves)
"""
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asynchat
    import asyncore
import socket

TERMINATOR = b"\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
ACCEPTS_PER_EVENT = 64


class Handler(asyncore.dispatcher_with_send):
    def handle_close(self):
        self.close()


class HttpHandler(Handler):
    def __init__(self, sock):
        super().__init__(sock)
        self.tail = b""

    def handle_read(self):
        data = self.recv(65536)
        if not data:
            return
        buf = self.tail + data if self.tail else data
        count = buf.count(TERMINATOR)
        if count:
            self.tail = buf[buf.rfind(TERMINATOR) + 4:]
            self.send(RESPONSE * count)
        else:
            self.tail = buf


class EchoHandler(Handler):
    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.send(data)


class LineEcho(asynchat.async_chat):
    def __init__(self, sock):
        super().__init__(sock)
        self.parts = []
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.parts.append(b"\n")
        self.push(b"".join(self.parts))
        self.parts = []

    def handle_close(self):
        self.close()


class Listener(asyncore.dispatcher):
    def __init__(self, handler):
        super().__init__()
        self.handler = handler
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(1024)

    def handle_accept(self):
        for _ in range(ACCEPTS_PER_EVENT):
            pair = self.accept()
            if pair is None:
                return
            self.handle_accepted(*pair)

    def handle_accepted(self, sock, addr):
        self.handler(sock)


HANDLERS = {"http": HttpHandler, "echo": EchoHandler, "chat": LineEcho}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in HANDLERS:
        sys.exit(f"usage: {sys.argv[0]} http|echo|chat")
    server = Listener(HANDLERS[sys.argv[1]])
    print(server.socket.getsockname()[1], flush=True)
    # poll(): select() stops at 1,024 descriptors.
    asyncore.loop(timeout=30, use_poll=True)


if __name__ == "__main__":
    main()
