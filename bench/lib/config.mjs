// Run modes: how many rounds and how long each measurement lasts.
// Caps (bulkCapSeconds, idleConnectCap) keep a slow server from stretching the run:
// the tables then show how far it got (MiB echoed, idle connections opened).
// idleHttpConns: idle keep-alive connections held open during the idle-HTTP rows' second wrk run.
// syscalls: after the rounds, one more run per server with its syscalls counted (perf or strace).
const MiB = 2 ** 20;

export const MODES = {
  // CI: every scenario once for about a second; checks that each produces a number.
  smoke: {
    rounds: 1, wrkSeconds: 1, warmupSeconds: 0, echoSeconds: 0.5, echoWarmup: 0.1,
    bulkBytes: 16 * MiB, bulkCapSeconds: 10, chatSeconds: 0.5,
    idleConns: 1000, idleSeconds: 0.2, idleConnectCap: 10, outDir: 'out/smoke',
    idleHttpConns: 1000, syscalls: false,
  },
  // Local use: under two minutes.
  quick: {
    rounds: 3, wrkSeconds: 1, warmupSeconds: 0, echoSeconds: 0.3, echoWarmup: 0.1,
    bulkBytes: 64 * MiB, bulkCapSeconds: 15, chatSeconds: 0.3,
    idleConns: 1000, idleSeconds: 0.1, idleConnectCap: 10, outDir: 'out/quick',
    idleHttpConns: 1000, syscalls: true,
    reuseServers: true, // one process per server for all rounds of consecutive scenarios of one mode
  },
  // The published numbers (bench/RESULTS.md, bench/results.svg): about 20 minutes with seven
  // servers (two wasyncore backends and five peers), a fresh process per run.
  full: {
    rounds: 3, wrkSeconds: 3, warmupSeconds: 1, echoSeconds: 2, echoWarmup: 1,
    bulkBytes: 1024 * MiB, bulkCapSeconds: 10, chatSeconds: 2,
    idleConns: 10_000, idleSeconds: 1, idleConnectCap: 30, outDir: '.',
    idleHttpConns: 10_000, syscalls: true,
  },
};

export const BULK_WINDOW = 4 * MiB;
export const LINE_WINDOW = 256 * 1024;
export const MESSAGE_SIZE = MiB;
