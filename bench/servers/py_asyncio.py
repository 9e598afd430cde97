"""CPython asyncio peers (Protocol-based; what Python users moved to), on asyncio's default
event loop or on uvloop's (asyncio on libuv).

usage: python3 py_asyncio.py http|echo|chat [uvloop]   (prints its port, then serves)
With "uvloop" where the uvloop module is not installed: prints "UNAVAILABLE <why>" and exits 0.
"""
import asyncio
import sys

TERMINATOR = b"\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


class Base(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport


class Http(Base):
    tail = b""

    def data_received(self, data):
        buf = self.tail + data if self.tail else data
        count = buf.count(TERMINATOR)
        if count:
            self.tail = buf[buf.rfind(TERMINATOR) + 4:]
            self.transport.write(RESPONSE * count)
        else:
            self.tail = buf


class Echo(Base):
    def data_received(self, data):
        self.transport.write(data)


class LineEcho(Base):
    def connection_made(self, transport):
        super().connection_made(transport)
        self.parts = []

    def data_received(self, data):
        replies = []
        start = 0
        end = data.find(b"\n")
        while end != -1:
            self.parts.append(data[start:end + 1])
            replies.append(b"".join(self.parts))
            self.parts = []
            start = end + 1
            end = data.find(b"\n", start)
        if start < len(data):
            self.parts.append(data[start:])
        if replies:
            self.transport.writelines(replies)


PROTOCOLS = {"http": Http, "echo": Echo, "chat": LineEcho}


async def serve(protocol):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in PROTOCOLS or sys.argv[2:] not in ([], ["uvloop"]):
        sys.exit(f"usage: {sys.argv[0]} http|echo|chat [uvloop]")
    if sys.argv[2:] == ["uvloop"]:
        try:
            import uvloop
        except ImportError as err:
            print(f"UNAVAILABLE uvloop is not installed for {sys.executable} ({err}; Debian: apt-get install python3-uvloop)", flush=True)
            return
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(PROTOCOLS[sys.argv[1]]))


if __name__ == "__main__":
    main()
