// The Node syscall layer for file descriptors: duplicating a descriptor, and turning a pipe,
// socket or terminal descriptor (or a Node stream) into readiness.
//
// Node has no dup(). The closest honest thing is to open the descriptor's /dev/fd entry
// (/proc/self/fd on Linux), with the original's access mode and O_APPEND:
//   Linux  → a new open file description of the same file, FIFO, pipe or terminal. Unlike dup()
//            it has its own offset (a regular file starts at the original's offset, from
//            /proc/self/fdinfo, and the two then move apart) and its own O_NONBLOCK (CPython sets
//            O_NONBLOCK on the caller's descriptor; this leaves the caller's alone)
//   macOS  → a true dup()
//   socket → cannot be reopened on Linux (ENXIO), nor a FIFO's write end with no reader: the
//            wrapper then uses the descriptor itself and owns it (closes it on close())
// Readiness, as select() reports it:
//   regular file, character/block device → always readable and writable (synchronous I/O)
//   pipe, FIFO, socket, terminal          → a libuv stream handle: bytes arrive in the core,
//                                           end of input sets EOF, writes complete later
import * as fs from "node:fs";
import * as net from "node:net";
import * as tty from "node:tty";
import type { Readable, Writable } from "node:stream";
import { binding, netPublicReason, uvName } from "./uv.js";
import { setReading, type StreamSink } from "./handles.js";

/** A descriptor ready for a FileWrapper. */
export interface OpenedFile {
  /** The descriptor the wrapper owns and closes. */
  fd: number;
  /** Is `fd` a new descriptor (so the caller's may be closed independently)? */
  duplicated: boolean;
  /** "file": synchronous reads/writes, always ready; "stream": a libuv pipe/socket/tty handle. */
  kind: "file" | "stream";
  /** A terminal (needs libuv's TTY handle). */
  tty: boolean;
  readable: boolean;
  writable: boolean;
  append: boolean;
  /** Regular files: the offset reads and writes continue from (null: the descriptor's own). */
  position: number | null;
}

// Linux: /proc/self/fd is what /dev/fd links to (and exists where /dev/fd may not).
const FD_DIR = process.platform === "linux" ? "/proc/self/fd" : "/dev/fd";

// Linux /proc/self/fdinfo: the descriptor's offset and open flags (octal).
function fdinfo(fd: number): { pos: number; flags: number } | null {
  try {
    const text = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "latin1");
    const pos = /^pos:\s*(\d+)/m.exec(text);
    const flags = /^flags:\s*([0-7]+)/m.exec(text);
    if (!pos || !flags) return null;
    return { pos: Number(pos[1]), flags: parseInt(flags[1], 8) };
  } catch {
    return null;
  }
}

/** Throws a Node error (with .code) when `fd` is not an open descriptor. */
export function openDescriptor(fd: number): OpenedFile {
  const C = fs.constants;
  const st = fs.fstatSync(fd); // EBADF for a closed descriptor
  const info = fdinfo(fd);
  const isTty = tty.isatty(fd);
  const kind = (st.isFile() || st.isDirectory() || st.isBlockDevice() || (st.isCharacterDevice() && !isTty)) ? "file" : "stream";
  const accmode = info ? info.flags & 3 : C.O_RDWR;
  const append = info ? (info.flags & C.O_APPEND) !== 0 : false;
  let own = fd;
  let duplicated = false;
  // asyncore: file_wrapper dup()s; Node cannot, so reopen (see above). O_NONBLOCK: opening a
  // FIFO's read end must not wait for a writer.
  const modes = info ? [accmode] : [C.O_RDWR, C.O_RDONLY, C.O_WRONLY];
  for (const mode of modes) {
    try {
      own = fs.openSync(`${FD_DIR}/${fd}`, mode | (append ? C.O_APPEND : 0) | C.O_NONBLOCK);
      duplicated = true;
      break;
    } catch {
      own = fd; // a socket cannot be reopened: the wrapper takes the descriptor itself
    }
  }
  const finalMode = info ? accmode : C.O_RDWR;
  return {
    fd: own,
    duplicated,
    kind,
    tty: isTty,
    readable: finalMode !== C.O_WRONLY,
    writable: finalMode !== C.O_RDONLY,
    append,
    position: st.isFile() && duplicated && info ? info.pos : null,
  };
}

// One receive buffer for every file stream: each read is copied into the core at once.
const readBuffer = Buffer.allocUnsafe(65536);

/** A reading/writing Node stream over a stream-kind descriptor, reporting to `sink`. */
export interface FileStream {
  stream: net.Socket | Readable | Writable;
  readable: boolean;
  writable: boolean;
  /** Stops or restarts reading (backpressure). */
  setReading(on: boolean): void;
}

/** Wraps a pipe, socket or terminal descriptor in a libuv stream handle (which takes ownership of it). */
export function openStream(f: OpenedFile, sink: StreamSink): FileStream {
  const opts: Record<string, unknown> = {
    readable: f.readable,
    writable: f.writable,
    allowHalfOpen: true,
    onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => sink.onData(buf, n) },
  };
  if (f.tty && netPublicReason() !== null) {
    // No process.binding (Node's permission model): tty.ReadStream is the public way to a TTY handle,
    // and it passes net.Socket's options on (manualStart: false reads at once, as the handle path does).
    const s = new tty.ReadStream(f.fd, { ...opts, manualStart: false } as net.SocketConstructorOpts);
    watch(s, sink, f.readable);
    return { stream: s, readable: f.readable, writable: f.writable, setReading: (on) => setReading(s, on) };
  }
  if (f.tty) {
    const ctx: Record<string, unknown> = {};
    const handle = new (binding("tty_wrap").TTY)(f.fd, ctx);
    if (typeof ctx.code === "string") throw Object.assign(new Error(`tty ${f.fd}: ${ctx.code}`), { code: ctx.code });
    opts.handle = handle;
  } else {
    opts.fd = f.fd;
  }
  const s = new net.Socket(opts as net.SocketConstructorOpts);
  watch(s, sink, f.readable);
  return { stream: s, readable: f.readable, writable: f.writable, setReading: (on) => setReading(s, on) };
}

/** Takes over a Node stream (a child process's stdout or stdin, ...) that has no descriptor of its own to wrap. */
export function adoptStream(s: Readable | Writable, sink: StreamSink): FileStream {
  const r = s as Readable;
  const w = s as Writable;
  const readable = typeof r.read === "function" && r.readable !== false;
  const writable = typeof w.write === "function" && w.writable !== false;
  if (readable) {
    r.on("data", (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (!sink.onData(buf, buf.length)) r.pause();
    });
  }
  watch(s, sink, readable);
  if (readable && (r.readableEnded || r.destroyed)) queueMicrotask(() => sink.onEnd()); // nothing more will come
  return { stream: s, readable, writable, setReading: (on) => { if (on) r.resume(); else r.pause(); } };
}

function watch(s: Readable | Writable, sink: StreamSink, readable = true): void {
  let ended = false;
  s.on("end", () => { ended = true; sink.onEnd(); });
  // a stream destroyed before its end: no more input will come
  s.on("close", () => { if (!ended && readable) { ended = true; sink.onEnd(); } });
  s.on("error", (err: NodeJS.ErrnoException) => sink.onError(typeof err.code === "string" ? err.code : typeof err.errno === "number" ? uvName(err.errno) : "EIO"));
}

/** The descriptor under a Node stream, or -1 (informational: the stream keeps owning it). */
export function streamFd(s: Readable | Writable): number {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const fd = (s as any).fd ?? (s as any)._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : -1;
}

/** Closes a descriptor this module opened, ignoring errors (cleanup after a failure). */
export function closeQuietly(fd: number): void {
  try { fs.closeSync(fd); } catch { /* already gone */ }
}

/** read(2)/pread(2) on a file-kind descriptor (position null: the descriptor's own offset). */
export function fileRead(fd: number, buf: Buffer, position: number | null): number {
  return fs.readSync(fd, buf, 0, buf.length, position);
}

/** write(2)/pwrite(2) on a file-kind descriptor (position null: its offset, or the end with O_APPEND). */
export function fileWrite(fd: number, data: Uint8Array, position: number | null): number {
  return fs.writeSync(fd, data, 0, data.length, position);
}

/** close(2); throws EBADF when the descriptor was already closed. */
export function fileClose(fd: number): void {
  fs.closeSync(fd);
}
