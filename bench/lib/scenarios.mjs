// The benchmark scenarios: which servers, which load, which numbers, which targets.
// A metric's targets are per backend: `net` from issues 7 and 16 (the portable node:net backend),
// `native` from issues 9 and 16 (the epoll addon). A check is { peer, x } (the subject ÷ that
// peer is at least x, or at most x when lower is better), { best: true, x } (against the best
// peer's value), or { max | min, text } (an absolute bound).
import { BULK_WINDOW, LINE_WINDOW, MESSAGE_SIZE } from './config.mjs';
import * as load from './loads.mjs';
import { SUBJECTS } from './servers.mjs';

const HTTP_SERVERS = [...SUBJECTS, 'node-net', 'node-http', 'asyncore', 'asyncio', 'uvloop'];
const TCP_SERVERS = [...SUBJECTS, 'node-net', 'asyncore', 'asyncio', 'uvloop'];

const vs = (peer, x) => ({ peer, x });
// Issue 16 (raising issue 9's 1.3× Node net): ≥ 1.2× the fastest Python peer (CPython asyncore
// and uvloop) and ≥ 1.4× raw Node net.
const NATIVE_RATE = [vs('node-net', 1.4), vs('asyncore', 1.2), vs('uvloop', 1.2)];
// Issue 16: p99 ≤ the best peer's at HTTP-50 and echo-100; issue 9: ≤ CPython asyncore's elsewhere.
const NATIVE_P99_BEST = [{ best: true, x: 1.0 }];
const NATIVE_P99 = [vs('asyncore', 1.0)];

const rps = (targets) => ({ key: 'rps', label: 'req/s', better: 'higher', summary: true, targets });
const p99 = (targets) => ({ key: 'p99_ms', label: 'p99 ms', better: 'lower', summary: !!targets, targets });
const errors = { key: 'errors', label: 'errors', better: 'lower' };
// Server CPU per operation, split into user and kernel time, and syscalls per operation (one extra counted run).
const cpu = (label) => [
  { key: 'cpu_us', label: `server CPU µs/${label}`, better: 'lower' },
  { key: 'user_us', label: 'user µs', better: 'lower' },
  { key: 'sys_us', label: 'kernel µs', better: 'lower' },
  { key: 'sys_per_op', label: `syscalls/${label}`, better: 'lower' },
];

function httpScenario(id, title, conns, pipeline, targets) {
  return {
    id, title, mode: 'http', servers: HTTP_SERVERS, needs: 'wrk', syscalls: true, opUnit: 'req',
    metrics: [rps(targets.rps), ...(pipeline > 1 ? [] : [p99(targets.p99)]), errors, ...cpu('req')],
    cpu: { per: 'rps' },
    warmup: (s, cfg) => load.wrk(s.port, { conns, pipeline, seconds: cfg.warmupSeconds }),
    measure: (s, cfg) => load.wrk(s.port, { conns, pipeline, seconds: cfg.wrkSeconds }),
  };
}

function echoScenario(id, title, conns, targets) {
  return {
    id, title, mode: 'echo', servers: TCP_SERVERS, syscalls: true, opUnit: 'round trip',
    metrics: [{ ...rps(targets.rps), label: 'round trips/s' }, p99(targets.p99), errors, ...cpu('round trip')],
    cpu: { per: 'rps' },
    measure: (s, cfg) => load.echo(s.port, { conns, seconds: cfg.echoSeconds, warmup: cfg.echoWarmup }),
  };
}

function chatScenario(id, title, record, window, primary) {
  const metrics = [
    { key: 'records_s', label: 'messages/s', better: 'higher', summary: primary === 'records_s' },
    { key: 'mib_s', label: 'MiB/s', better: 'higher', summary: primary === 'mib_s' },
    ...cpu(primary === 'mib_s' ? 'MiB' : 'message').slice(0, 3),
  ];
  return {
    id, title, mode: 'chat', servers: TCP_SERVERS, metrics, cpu: { per: primary },
    measure: (s, cfg) => load.stream(s.port, { bytes: 2 ** 50, record, window, seconds: cfg.chatSeconds }),
  };
}

/**
 * HTTP keep-alive at 50 connections without, then with, idle keep-alive connections open, in one
 * server process; `shape` picks the wasyncore handler class (servers/wasyncore.mjs).
 */
function idleHttpScenario(id, shape, servers, targets) {
  const what = shape === 'writable' ? 'a handler class overriding writable()' : 'DispatcherWithSend handlers';
  return {
    id, shape, fresh: true, mode: 'http', servers, needs: 'wrk', syscalls: true, syscallsInside: true, opUnit: 'req',
    title: (cfg) => `HTTP keep-alive, 50 connections, with ${cfg.idleHttpConns.toLocaleString('en-US')} idle ones open: ${what}`,
    metrics: [
      { key: 'keep', label: 'req/s kept (with idle ÷ without)', better: 'higher', summary: true, chart: false, targets },
      { key: 'rps_idle', label: 'req/s with idle', better: 'higher' },
      { key: 'rps_base', label: 'req/s without', better: 'higher' },
      { key: 'keep_cpu', label: 'CPU/req kept (without ÷ with)', better: 'higher' },
      { key: 'cpu_us_base', label: 'server CPU µs/req without', better: 'lower' },
      { key: 'cpu_us', label: 'server CPU µs/req with idle', better: 'lower' },
      { key: 'user_us', label: 'user µs', better: 'lower' },
      { key: 'sys_us', label: 'kernel µs', better: 'lower' },
      { key: 'sys_per_op', label: 'syscalls/req', better: 'lower' },
      { key: 'conns', label: 'idle conns', better: 'higher' },
    ],
    measure: (s, cfg, around) => load.idleHttp(s, {
      conns: 50, idleConns: cfg.idleHttpConns, seconds: cfg.wrkSeconds, warmup: cfg.warmupSeconds,
      connectCap: cfg.idleConnectCap,
    }, around),
  };
}

const KEEP = [{ min: 0.8, text: '≥ 0.8× of unloaded' }];

export const SCENARIOS = [
  httpScenario('http-50', 'HTTP/1.1 keep-alive "hello", 50 connections', 50, 1, {
    rps: { net: [vs('node-net', 1.0), vs('node-http', 2.0)], native: NATIVE_RATE },
    p99: { native: NATIVE_P99_BEST },
  }),
  httpScenario('http-400', 'HTTP/1.1 keep-alive "hello", 400 connections', 400, 1, {
    rps: { net: [vs('node-net', 1.0), vs('node-http', 2.0)], native: NATIVE_RATE },
    p99: { net: [vs('node-net', 1.0)], native: NATIVE_P99 },
  }),
  httpScenario('http-pipe16', 'HTTP/1.1 keep-alive "hello", 50 connections × 16 pipelined', 50, 16, {
    rps: { net: [vs('node-net', 1.1), vs('node-http', 2.0)] },
  }),
  echoScenario('echo-100', 'TCP echo ping-pong, 64 B, 100 connections', 100, {
    rps: { net: [vs('node-net', 1.0)], native: NATIVE_RATE },
    p99: { native: NATIVE_P99_BEST },
  }),
  echoScenario('echo-1000', 'TCP echo ping-pong, 64 B, 1,000 connections', 1000, {
    rps: { net: [vs('node-net', 1.0)], native: NATIVE_RATE },
    p99: { native: NATIVE_P99 },
  }),
  {
    id: 'bulk', title: 'Bulk: one connection streaming through an echo', mode: 'echo', servers: TCP_SERVERS,
    syscalls: true, opUnit: 'MiB',
    metrics: [
      // issue 16: net ≥ 1.0× Node net (issue 7 had 0.9×); native ≥ 1.0× Node net and CPython asyncore
      { key: 'mib_s', label: 'MiB/s', better: 'higher', summary: true,
        targets: { net: [vs('node-net', 1.0)], native: [vs('node-net', 1.0), vs('asyncore', 1.0)] } },
      { key: 'mib', label: 'MiB echoed', better: 'higher' },
      { key: 'seconds', label: 's', better: 'lower' },
      ...cpu('MiB'),
    ],
    cpu: { per: 'mib_s' },
    measure: (s, cfg) => load.stream(s.port, { bytes: cfg.bulkBytes, window: BULK_WINDOW, seconds: cfg.bulkCapSeconds }),
  },
  {
    id: 'idle',
    fresh: true, // memory is measured from a fresh process
    title: (cfg) => `${cfg.idleConns.toLocaleString('en-US')} idle connections: memory and loop pass cost`,
    mode: 'echo',
    servers: TCP_SERVERS,
    metrics: [
      // issue 16: memory stays (RSS per idle connection ≤ native 1.4 KB, net 2.1 KB; core memory 0)
      { key: 'rss_per_conn', label: 'RSS B/conn', better: 'lower', summary: true,
        targets: { net: [vs('node-net', 1.2), { max: 2100, text: '≤ 2.1 KB' }], native: [{ max: 1400, text: '≤ 1.4 KB' }] } },
      { key: 'core_per_conn', label: 'core B/conn', better: 'lower', summary: true, chart: false,
        targets: { net: [{ max: 256, text: '≤ 256 B' }], native: [{ max: 0, text: '0' }] } },
      { key: 'core_reserved_per_conn', label: 'core reserved B/conn', better: 'lower', summary: true, chart: false },
      // Absolute targets; a ratio of two noisy differences would only stretch the chart's scale.
      { key: 'pass_cost_us', label: 'added pass µs', better: 'lower', summary: true, chart: false, targets: {
        net: [{ max: 20, text: '< 20 µs' }],
        // Issue 9: nothing per idle channel; 20 µs over all of them is the probe's noise floor.
        native: [{ max: 20, text: '≈ 0 per idle channel (< 20 µs for all)' }],
      } },
      { key: 'pass_ns_per_conn', label: 'added pass ns/idle conn', better: 'lower' },
      { key: 'rtt_base_us', label: 'RTT alone µs', better: 'lower' },
      { key: 'rtt_idle_us', label: 'RTT w/ idle µs', better: 'lower' },
      { key: 'conns', label: 'idle conns opened', better: 'higher' },
    ],
    measure: (s, cfg) => load.idle(s, { conns: cfg.idleConns, seconds: cfg.idleSeconds, connectCap: cfg.idleConnectCap }),
  },
  // Issue 16: the writable() shape keeps ≥ 0.8× of its unloaded throughput with 10,000 idle connections.
  idleHttpScenario('idle-http', 'with-send', [...SUBJECTS, 'node-net', 'asyncore', 'uvloop'], null),
  idleHttpScenario('idle-http-writable', 'writable', [...SUBJECTS, 'asyncore'], { native: KEEP, net: KEEP }),
  chatScenario('chat-lines', 'AsyncChat line framing: 50-byte lines', 50, LINE_WINDOW, 'records_s'),
  chatScenario('chat-1mib', 'AsyncChat framing: 1 MiB messages', MESSAGE_SIZE, BULK_WINDOW, 'mib_s'),
];
