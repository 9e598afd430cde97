// The co-hosted echo module the hostile suites watch: while an attack runs it must keep answering
// (median round trip under 50 ms, or under 4× the same run's control on a loaded machine) and stay alive.
import * as net from "node:net";
import { once } from "node:events";
import { expect } from "vitest";
import { WasmServer } from "../../host/sandbox/index.js";
import { root } from "./helpers.js";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** An echo module in its own sandbox, a kept connection to it, and its undisturbed round trip. */
export class Bystander {
  /** Median round trip (ms) before any attack. */
  control = 0;
  /** One line per stillServing() call: the test and its median. */
  readonly medians: string[] = [];

  private constructor(readonly echo: WasmServer, private readonly pinger: net.Socket) {}

  /** Starts the echo module, connects, warms up (5 round trips) and measures the control (median of 15). */
  static async start(): Promise<Bystander> {
    const echo = await WasmServer.start(`${root}build/servers/echo.host.wasm`, { listen: ["127.0.0.1:0"], name: "bystander" });
    const pinger = net.connect(echo.listening[0].port, "127.0.0.1");
    await once(pinger, "connect");
    const b = new Bystander(echo, pinger);
    await b.roundTrips(5);
    b.control = median(await b.roundTrips(15));
    return b;
  }

  /** `n` round trips of one byte on the kept connection, in ms. */
  async roundTrips(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const got = once(this.pinger, "data");
      this.pinger.write("p");
      await got;
      out.push(performance.now() - t0);
    }
    return out;
  }

  /** Samples round trips while `during` runs; asserts the module kept answering promptly and is alive. */
  async stillServing<T>(during: Promise<T>): Promise<T> {
    const samples: number[] = [];
    let over = false;
    const sampling = (async () => {
      while (!over) {
        samples.push(...(await this.roundTrips(1)));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      return await during;
    } finally {
      over = true;
      await sampling;
      const m = median(samples);
      this.medians.push(`${expect.getState().currentTestName?.slice(0, 50)}: ${m.toFixed(1)} ms (n=${samples.length}, max ${Math.max(...samples).toFixed(1)})`);
      expect(samples.length).toBeGreaterThan(0);
      expect(m, `co-hosted round trips (ms): ${samples.map((s) => s.toFixed(1)).join(" ")}; control ${this.control.toFixed(1)}`).toBeLessThan(Math.max(50, 4 * this.control));
      expect(this.echo.alive).toBe(true);
    }
  }

  /** Closes the connection and the module; logs the control and the medians seen during attacks. */
  close(): void {
    this.pinger.destroy();
    this.echo.close();
    console.log(`co-hosted echo round trips, control median ${this.control.toFixed(1)} ms; medians during attacks:\n  ${this.medians.join("\n  ")}`);
  }
}
