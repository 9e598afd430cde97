// Helpers for the datagram tests: families, and waiting for a condition (never a fixed sleep).
import { AF_INET, AF_INET6 } from "../../host/index.js";

export const families = [
  { name: "IPv4", family: AF_INET, host: "127.0.0.1", any: ["0.0.0.0", 0] },
  { name: "IPv6", family: AF_INET6, host: "::1", any: ["::", 0, 0, 0] },
] as const;

export { until } from "../support/index.js"; // resolves once cond() holds; rejects naming `what` after `ms`

/** Retries `fn` until it stops throwing EAGAIN (a datagram is on its way). */
export async function eventually<T>(fn: () => T, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}
