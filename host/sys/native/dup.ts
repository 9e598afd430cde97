// os.dup() through the addon: FileWrapper's descriptor on the native backend.
import * as fs from "node:fs";
import { isatty } from "node:tty";
import { codeOf } from "../../core/errors.js";
import type { OpenedFile } from "../net/fs.js";
import { native } from "./addon.js";

/**
 * os.dup(fd) through the native addon (the native backend): a new descriptor sharing the open file
 * description, so offset, O_APPEND and O_NONBLOCK are shared as in CPython, and any descriptor —
 * a socket too — is duplicated. Null where the addon is not loaded.
 * Throws a Node-style error (with .code) when `fd` is not open.
 */
export function dupDescriptor(fd: number): OpenedFile | null {
  const a = native();
  if (a === null) return null;
  const C = fs.constants;
  const st = fs.fstatSync(fd); // EBADF for a closed descriptor
  const tty = isatty(fd);
  const kind = (st.isFile() || st.isDirectory() || st.isBlockDevice() || (st.isCharacterDevice() && !tty)) ? "file" : "stream";
  const flags = openFlags(fd);
  const own = a.dup(fd);
  if (own < 0) throw Object.assign(new Error(`dup(${fd}) failed`), { code: codeOf(-own) });
  const accmode = flags === null ? C.O_RDWR : flags & 3;
  return {
    fd: own,
    duplicated: true,
    kind,
    tty,
    readable: accmode !== C.O_WRONLY,
    writable: accmode !== C.O_RDONLY,
    append: flags !== null && (flags & C.O_APPEND) !== 0,
    position: null, // the shared offset: reads and writes move the caller's descriptor too, as dup() does
  };
}

/** A descriptor's open flags from Linux /proc/self/fdinfo (octal), or null. */
function openFlags(fd: number): number | null {
  try {
    const m = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, "latin1"));
    return m ? parseInt(m[1], 8) : null;
  } catch {
    return null;
  }
}

