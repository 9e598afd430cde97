// The I/O behind a FileWrapper: synchronous for regular files (always ready, as select() says),
// through the core's queues for pipes, sockets, terminals and Node streams (ready when bytes are).
import { SocketError, errnoOf } from "../../core/errors.js";
import type { Engine } from "../../core/engine.js";
import { FIELD, F_OPEN, F_EOF, F_ALWAYS_R } from "../../core/abi.js";
import { notifyReady, markDirty } from "../../core/wake.js";
import type { StreamSink } from "./handles.js";
import { fileRead, fileWrite, fileClose, type FileStream, type OpenedFile } from "./fs.js";

const EMPTY = Buffer.alloc(0);

/** What a FileWrapper reads and writes through. */
export interface FileIo {
  recv(n: number): Buffer;
  send(data: Uint8Array): number;
  /** The error select() would report (SO_ERROR's meaning), or null. */
  pendingError(): string | null;
  close(): void;
}

function nodeCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === "string" ? code : "EIO";
}

/** Regular files and devices: os.read()/os.write() at once; readable until EOF and always writable. */
export class SyncIo implements FileIo {
  private position: number | null;

  constructor(engine: Engine, token: number, private readonly file: OpenedFile) {
    this.position = file.position;
    engine.core.chan_set_flags(token, F_ALWAYS_R | F_OPEN, 0);
  }

  recv(n: number): Buffer {
    const fd = this.file.fd;
    const parts: Buffer[] = [];
    let got = 0;
    try {
      while (got < n) {
        const buf = Buffer.allocUnsafe(Math.min(n - got, 1 << 20));
        const k = fileRead(fd, buf, this.position);
        if (this.position !== null) this.position += k;
        if (k > 0) parts.push(k === buf.length ? buf : buf.subarray(0, k));
        got += k;
        if (k < buf.length) break; // a short read: end of file, or all a device had
      }
    } catch (err) {
      if (got === 0) throw new SocketError(nodeCode(err), `recv(${n}) on fd ${fd}`);
    }
    return parts.length === 1 ? parts[0] : parts.length === 0 ? EMPTY : Buffer.concat(parts, got);
  }

  send(data: Uint8Array): number {
    const fd = this.file.fd;
    try {
      const k = fileWrite(fd, data, this.file.append ? null : this.position);
      if (this.position !== null && !this.file.append) this.position += k;
      return k;
    } catch (err) {
      throw new SocketError(nodeCode(err), `send(<${data.length} bytes>) on fd ${fd}`);
    }
  }

  pendingError(): string | null { return null; }

  close(): void {
    fileClose(this.file.fd); // EBADF when someone closed it behind the wrapper's back
  }
}

/** Pipes, sockets, terminals and Node streams: input lands in the core's queue, output leaves from it. */
export class StreamIo implements FileIo {
  private port: FileStream | null = null;
  private errorCode: string | null = null;
  private readPaused = false;
  private stash: Buffer[] = []; // bytes the core had no memory for yet
  private flushQueued = false;
  private closed = false;

  constructor(private readonly engine: Engine, private readonly token: number) {}

  /** Receives the stream's events (handed to the syscall layer). */
  readonly sink: StreamSink = {
    onData: (buf, n) => this.onData(buf, n),
    onEnd: () => {
      if (this.closed) return;
      this.engine.core.chan_set_flags(this.token, F_EOF, 0);
      notifyReady(this.token);
    },
    onError: (code) => {
      if (this.closed) return;
      this.errorCode ??= code;
      this.engine.setField(this.token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
      notifyReady(this.token);
    },
    onConnect: () => undefined,
  };

  /** Starts on the stream the syscall layer opened; a write end is writable while the window has room. */
  attach(port: FileStream): void {
    this.port = port;
    if (port.writable) this.engine.core.chan_set_flags(this.token, F_OPEN, 0);
  }

  private onData(buf: Uint8Array, n: number): boolean {
    if (this.closed) return false;
    if (this.stash.length > 0) {
      this.stash.push(Buffer.from(buf.subarray(0, n)));
      return false;
    }
    const taken = this.engine.pushIn(this.token, buf, 0, n);
    const pause = this.engine.pauseWanted;
    if (taken < n) this.stash.push(Buffer.from(buf.subarray(taken, n))); // the core is at its memory cap
    notifyReady(this.token);
    if (pause || taken < n) {
      this.readPaused = true;
      return false;
    }
    return true;
  }

  recv(n: number): Buffer {
    const e = this.engine;
    if (e.field(this.token, FIELD.inLen) > 0 && n > 0) {
      const data = e.takeIn(this.token, n);
      if (this.readPaused && e.resumeOk) this.resume();
      return data;
    }
    if (this.errorCode) throw new SocketError(this.errorCode, "recv()");
    if (this.port && !this.port.readable) throw new SocketError("EBADF", "recv(): the file is not open for reading");
    if (this.stash.length === 0 && (e.core.chan_flags(this.token) & F_EOF) !== 0) return EMPTY;
    if (n === 0) return EMPTY;
    throw new SocketError("EAGAIN", "recv()");
  }

  private resume(): void {
    while (this.stash.length > 0) {
      const head = this.stash[0];
      const taken = this.engine.pushIn(this.token, head, 0, head.length);
      if (taken < head.length) { this.stash[0] = head.subarray(taken); return; }
      this.stash.shift();
      if (this.engine.pauseWanted) return;
    }
    this.readPaused = false;
    this.port?.setReading(true);
  }

  send(data: Uint8Array): number {
    if (this.errorCode) throw new SocketError(this.errorCode, "send()");
    if (!this.port || !this.port.writable) throw new SocketError("EBADF", "send(): the file is not open for writing");
    if (data.length === 0) return 0;
    const n = this.engine.pushOut(this.token, data);
    if (n === 0) throw new SocketError("EAGAIN", "send()");
    if (!this.flushQueued) {
      this.flushQueued = true;
      markDirty(this);
    }
    return n;
  }

  /** Writes the output queue to the stream (once per pass). */
  flush(): void {
    this.flushQueued = false;
    const s = this.port?.stream as NodeJS.WritableStream & { writableLength: number } | undefined;
    if (this.closed || !s) return;
    const buf = this.engine.takeOut(this.token);
    if (!buf) return;
    s.write(buf, this.afterWrite);
    this.engine.setField(this.token, FIELD.inflight, s.writableLength);
  }

  private readonly afterWrite = (): void => {
    const s = this.port?.stream as { writableLength: number } | undefined;
    if (this.closed || !s) return;
    this.engine.setField(this.token, FIELD.inflight, s.writableLength);
    notifyReady(this.token);
  };

  pendingError(): string | null { return this.errorCode; }

  /** Bytes send() took are still written, then the stream (and its descriptor) closes. */
  close(): void {
    this.closed = true;
    const s = this.port?.stream as (NodeJS.WritableStream & { writableLength: number; destroy(): void; destroyed: boolean }) | undefined;
    this.port = null;
    this.stash = [];
    if (!s) return;
    s.on("error", () => undefined); // nobody is listening any more
    const rest = this.errorCode ? null : this.engine.takeOut(this.token);
    if (rest && !s.destroyed) s.write(rest);
    if (!this.errorCode && !s.destroyed && s.writableLength > 0) {
      s.end();
      s.once("finish", () => s.destroy());
    } else s.destroy();
  }
}
