// Accepted sockets an accept handler left behind (closeOrphans), and the per-channel limits' type.

/** What closeOrphans() needs of an accepted socket. */
interface Orphan { adopted: boolean; readonly closed: boolean; close(): void; }

// Sockets accept() returned during the handleAccept() running now (closeOrphans).
let acceptedNow: Orphan[] | null = null;

/** @internal Records a socket accept() just returned, for closeOrphans(). */
export function noteAccepted(sock: Orphan): void {
  acceptedNow?.push(sock);
}

/**
 * @internal Runs a listener's accept handler; if it throws (or its promise rejects), every
 * socket accept() returned meanwhile that no dispatcher adopted is closed instead of staying
 * open forever, and the error goes on to the caller (handleError).
 */
export function closeOrphans(handler: () => unknown): unknown {
  const outer = acceptedNow;
  const mine: Orphan[] = (acceptedNow = []);
  const orphansClosed = (err: unknown): never => {
    for (const s of mine) if (!s.adopted && !s.closed) s.close();
    throw err;
  };
  let ret: unknown;
  try {
    ret = handler();
  } catch (err) {
    orphansClosed(err);
  } finally {
    acceptedNow = outer;
  }
  if (ret !== null && typeof ret === "object" && typeof (ret as Promise<unknown>).then === "function") {
    return (ret as Promise<unknown>).then(undefined, orphansClosed);
  }
  return ret;
}

/** Per-channel buffer limits (bytes). */
export interface BufferLimits {
  /** Output queued in the core plus bytes in Node's write buffer before send() returns 0. */
  sendWindow?: number;
  /** Buffered input above which the socket stops reading until the application reads. */
  recvPause?: number;
}

