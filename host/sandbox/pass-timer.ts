// Wakes a server module for its timers (ABI v2): after a pass that found nothing to do, the
// runner asks the module's server_timeout() export how long until its next timer and schedules
// a pass then. A v1 module has no such export and is woken by socket events only, as before.

/** The exports this needs (present from ABI version 2 on). */
export interface TimerExports {
  server_timeout?: () => number;
}

/** Longest single wait (setTimeout's limit); a longer timer is re-checked then. */
const MAX_WAIT_MS = 2 ** 31 - 1;

/** One module's wake-up timer. */
export class PassTimer {
  private handle: NodeJS.Timeout | null = null;
  private at = Infinity;

  constructor(private readonly exports: TimerExports, private readonly wake: () => void) {}

  /** After a pass that returned 0 (wait): arm a wake-up for the module's next timer, if any. */
  afterIdlePass(): void {
    const f = this.exports.server_timeout;
    if (typeof f !== "function") return;
    const ms = Number(f());
    if (!(ms >= 0)) { this.clear(); return; } // -1 (no timers), NaN: nothing to wake for
    const wait = Math.min(Math.ceil(ms), MAX_WAIT_MS);
    const at = performance.now() + wait;
    if (this.handle !== null && Math.abs(at - this.at) < 1) return; // already set for that moment
    this.clear();
    this.at = at;
    this.handle = setTimeout(() => {
      this.handle = null;
      this.at = Infinity;
      this.wake();
    }, wait);
  }

  /** Drops the pending wake-up (the module stopped, or a pass runs anyway). */
  clear(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
    this.at = Infinity;
  }
}
