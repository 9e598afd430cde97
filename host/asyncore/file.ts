// FileWrapper and FileDispatcher: asyncore's file_wrapper / file_dispatcher — a file descriptor
// (or a Node stream) made to look enough like a socket for a Dispatcher to drive it.
import type { Readable, Writable } from "node:stream";
import { SOL_SOCKET, SO_ERROR } from "../core/constants.js";
import { SocketError, errnoOf } from "../core/errors.js";
import { getEngine, type Engine } from "../core/engine.js";
import { type Address, describe } from "../core/address.js";
import { Dispatcher } from "./dispatcher.js";
import type { ChannelMap } from "./map.js";
import type { Socket } from "../socket/socket.js";
import * as sys from "../sys/index.js";
import { SyncIo, StreamIo, openFile, type FileIo } from "../sys/index.js";
import { currentBackend } from "../socket/backend.js";

/** What FileWrapper and FileDispatcher accept: a descriptor, an object with fileno() or fd, or a Node stream. */
export type FileLike = number | {
  /** The OS descriptor (Python's file objects). */
  fileno(): number;
} | {
  /** The OS descriptor (a Node FileHandle). */
  fd: number;
} | Readable | Writable;

/** Resolves a FileLike to a descriptor number, or to a stream to take over. */
function resolve(f: unknown): number | Readable | Writable {
  if (typeof f === "number") return f;
  if (f !== null && typeof f === "object") {
    const o = f as { fileno?: unknown; fd?: unknown; on?: unknown };
    if (typeof o.fileno === "function") return (o.fileno as () => number)();
    if (typeof o.fd === "number" && o.fd >= 0) return o.fd;
    if (typeof o.on === "function") return f as Readable | Writable;
  }
  throw new TypeError(`FileWrapper: expected a file descriptor, an object with fileno() or fd, or a Node stream, got ${describe(f)}`);
}

function notSocket(what: string): never {
  throw new SocketError("ENOTSOCK", `${what}: a FileWrapper is not a socket`);
}

/**
 * A file descriptor that looks enough like a socket for asyncore. Python: asyncore.file_wrapper
 *
 * The descriptor is duplicated (see `duplicated`), so the caller's may be closed independently:
 * a true dup() on the native backend (any descriptor, shared offset, as CPython); on `net`, a
 * reopen of /proc/self/fd/N where that works, else (a socket) the descriptor is taken over, as is a Node stream.
 */
export class FileWrapper {
  /** The OS descriptor the wrapper reads and writes (-1 once closed; -1 for a stream with none). Python: file_wrapper.fd */
  fd: number;
  /** Is `fd` a new descriptor, closed independently of the one passed in? (native: dup(); net: a reopen, see host/sys/net/fs.ts) */
  readonly duplicated: boolean;
  private readonly engine: Engine;
  private readonly token: number;
  private io: FileIo | null;
  private isClosed = false;

  /**
   * Wraps a descriptor (duplicated, as Python's os.dup), an object with fileno() or fd, or a Node stream (taken over).
   * Python: asyncore.file_wrapper(fd)
   * @throws TypeError/RangeError for something else; SocketError (EBADF for a closed descriptor, EMFILE).
   */
  constructor(fd: FileLike) {
    const target = resolve(fd);
    if (typeof target === "number" && (!Number.isInteger(target) || target < 0)) {
      throw new RangeError(`FileWrapper: fd must be a non-negative integer, got ${describe(target)}`);
    }
    let opened: sys.OpenedFile | null = null;
    if (typeof target === "number") {
      try {
        opened = openFile(target, currentBackend());
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SocketError(typeof code === "string" ? code : "EBADF", `FileWrapper(${target})`);
      }
    }
    this.engine = getEngine();
    const token = this.engine.core.chan_open(0);
    if (token <= 0) {
      if (opened?.duplicated) sys.closeQuietly(opened.fd);
      throw new SocketError("EMFILE", "FileWrapper: the core's channel table is full");
    }
    this.token = token;
    if (opened && opened.kind === "file") {
      this.io = new SyncIo(this.engine, token, opened);
      this.fd = opened.fd;
      this.duplicated = opened.duplicated;
      return;
    }
    const io = new StreamIo(this.engine, token);
    try {
      const port = opened ? sys.openStream(opened, io.sink) : sys.adoptStream(target as Readable | Writable, io.sink);
      io.attach(port);
    } catch (err) {
      if (opened?.duplicated) sys.closeQuietly(opened.fd);
      this.engine.core.chan_close(token);
      const code = (err as NodeJS.ErrnoException).code;
      throw new SocketError(code === "ERR_INVALID_FD_TYPE" ? "EINVAL" : typeof code === "string" ? code : "EINVAL", `FileWrapper(${describe(target)}): ${(err as Error).message}`);
    }
    this.io = io;
    this.fd = opened ? opened.fd : sys.streamFd(target as Readable | Writable);
    this.duplicated = opened ? opened.duplicated : false;
  }

  /** The channel's token (its key in a map), -1 once closed. Python: file_wrapper.fileno() */
  fileno(): number {
    return this.isClosed ? -1 : this.token;
  }

  /** Has close() run? */
  get closed(): boolean {
    return this.isClosed;
  }

  private ensureOpen(what: string): FileIo {
    if (this.io === null) throw new SocketError("EBADF", `${what} on a closed FileWrapper`);
    return this.io;
  }

  /** Up to n bytes; empty at end of file; SocketError EAGAIN when a pipe has nothing yet. Python: file_wrapper.recv */
  recv(n: number): Buffer {
    const io = this.ensureOpen("recv()");
    if (typeof n !== "number" || !Number.isInteger(n)) throw new TypeError(`recv(): bufferSize must be an integer, got ${describe(n)}`);
    if (n < 0) throw new RangeError(`recv(): bufferSize must be >= 0, got ${n}`);
    return io.recv(n);
  }

  /** Reads up to `n` bytes, as recv(). Python: file_wrapper.read (an alias of recv) */
  read(n: number): Buffer {
    return this.recv(n);
  }

  /** Bytes written (or queued for a pipe); SocketError EAGAIN when a pipe's window is full. Python: file_wrapper.send */
  send(data: Uint8Array): number {
    const io = this.ensureOpen("send()");
    if (!(data instanceof Uint8Array)) throw new TypeError(`send(): data must be a Uint8Array or Buffer, got ${describe(data)}`);
    return io.send(data);
  }

  /** Writes `data`, as send(). Python: file_wrapper.write (an alias of send) */
  write(data: Uint8Array): number {
    return this.send(data);
  }

  /** Closes the descriptor; idempotent. Throws EBADF if it was closed behind the wrapper's back. Python: file_wrapper.close */
  close(): void {
    const io = this.io;
    if (io === null) return;
    this.io = null;
    this.isClosed = true;
    this.fd = -1;
    try {
      io.close();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SocketError(typeof code === "string" ? code : "EBADF", "close()");
    } finally {
      this.engine.core.chan_close(this.token);
    }
  }

  /** SO_ERROR only (0, or a stream's pending error), as asyncore needs. Python: file_wrapper.getsockopt */
  getsockopt(level: number, option: number): number {
    if (level === SOL_SOCKET && option === SO_ERROR) {
      const code = this.io?.pendingError();
      return code ? errnoOf(code) || errnoOf("EIO") : 0;
    }
    return notSocket(`getsockopt(${describe(level)}, ${describe(option)})`);
  }

  /** The pending error as a SocketError, or null. */
  pendingError(): SocketError | null {
    const code = this.io?.pendingError();
    return code ? new SocketError(code) : null;
  }

  /** Not a socket: SocketError ENOTSOCK. */
  setsockopt(level: number, option: number, value: number | boolean): void {
    void value;
    notSocket(`setsockopt(${describe(level)}, ${describe(option)})`);
  }
  /** Not a socket: SocketError ENOTSOCK. */
  bind(address: Address): void { notSocket(`bind(${describe(address)})`); }
  /** Not a socket: SocketError ENOTSOCK. */
  listen(backlog?: number): void { void backlog; notSocket("listen()"); }
  /** Not a socket: SocketError ENOTSOCK. */
  connect(address: Address): void { notSocket(`connect(${describe(address)})`); }
  /** Not a socket: SocketError ENOTSOCK. */
  accept(): never { return notSocket("accept()"); }
  /** Not a socket: SocketError ENOTSOCK. */
  getsockname(): never { return notSocket("getsockname()"); }
  /** Not a socket: SocketError ENOTSOCK (a Dispatcher then leaves `connected` as it is). */
  getpeername(): never { return notSocket("getpeername()"); }
  /** Not a socket: SocketError ENOTSOCK. */
  sendto(data: Uint8Array, address: Address): never { void data; return notSocket(`sendto(${describe(address)})`); }
  /** Not a socket: SocketError ENOTSOCK. */
  recvfrom(n: number): never { void n; return notSocket("recvfrom()"); }

  /** A description with the descriptor and the token. Python: repr(file_wrapper) */
  toString(): string {
    return `<FileWrapper fd=${this.fd} fileno=${this.fileno()}${this.duplicated ? " duplicated" : ""}>`;
  }
}

/** A Dispatcher over a file descriptor or Node stream; `connected` is true from the start. Python: asyncore.file_dispatcher */
export class FileDispatcher extends Dispatcher {
  /**
   * Dispatches on a file descriptor or stream (wrapped in a FileWrapper), in `map`. Python: asyncore.file_dispatcher(fd, map=None)
   * @throws as FileWrapper's constructor.
   */
  constructor(fd: FileLike, map?: ChannelMap) {
    super(null, map);
    this.connected = true;
    this.setFile(fd);
  }

  /** Wraps `fd` and adds the channel to the map. Python: file_dispatcher.set_file(fd) */
  setFile(fd: FileLike): void {
    const w = new FileWrapper(fd);
    // asyncore: `socket` holds the file_wrapper, which answers the calls a Dispatcher makes.
    this.socket = w as unknown as Socket;
    this._fileno = w.fileno();
    this.connected = this.connected; // hand the flag to the new channel in the core
    this.addChannel();
  }

  /** The wrapper behind this dispatcher (the same object as `socket`). */
  get file(): FileWrapper | null {
    return this.socket as unknown as FileWrapper | null;
  }
}
