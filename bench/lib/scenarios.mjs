// The benchmark scenarios: which servers, which load, which numbers, which targets.
// A metric's targets are per backend: `net` from issue 7 (the portable node:net backend),
// `native` from issue 9 (the epoll addon). A check is { peer, x } (the subject ÷ that peer
// is at least x, or at most x when lower is better) or { max, text } (an absolute bound).
import { BULK_WINDOW, LINE_WINDOW, MESSAGE_SIZE } from './config.mjs';
import * as load from './loads.mjs';
import { SUBJECTS } from './servers.mjs';

const HTTP_SERVERS = [...SUBJECTS, 'node-net', 'node-http', 'asyncore', 'asyncio'];
const TCP_SERVERS = [...SUBJECTS, 'node-net', 'asyncore', 'asyncio'];

const vs = (peer, x) => ({ peer, x });
// Issue 9: ≥ 1.2× CPython asyncore and ≥ 1.3× raw Node net, p99 ≤ CPython asyncore's.
const NATIVE_RATE = [vs('node-net', 1.3), vs('asyncore', 1.2)];
const NATIVE_P99 = [vs('asyncore', 1.0)];

const rps = (targets) => ({ key: 'rps', label: 'req/s', better: 'higher', summary: true, targets });
const p99 = (targets) => ({ key: 'p99_ms', label: 'p99 ms', better: 'lower', summary: !!targets, targets });
const errors = { key: 'errors', label: 'errors', better: 'lower' };
const cpu = (label) => ({ key: 'cpu_us', label: `server CPU µs/${label}`, better: 'lower' });

function httpScenario(id, title, conns, pipeline, targets) {
  return {
    id, title, mode: 'http', servers: HTTP_SERVERS, needs: 'wrk',
    metrics: [rps(targets.rps), ...(pipeline > 1 ? [] : [p99(targets.p99)]), errors, cpu('req')],
    cpu: { per: 'rps' },
    warmup: (s, cfg) => load.wrk(s.port, { conns, pipeline, seconds: cfg.warmupSeconds }),
    measure: (s, cfg) => load.wrk(s.port, { conns, pipeline, seconds: cfg.wrkSeconds }),
  };
}

function echoScenario(id, title, conns, targets) {
  return {
    id, title, mode: 'echo', servers: TCP_SERVERS,
    metrics: [{ ...rps(targets.rps), label: 'round trips/s' }, p99(targets.p99), errors, cpu('round trip')],
    cpu: { per: 'rps' },
    measure: (s, cfg) => load.echo(s.port, { conns, seconds: cfg.echoSeconds, warmup: cfg.echoWarmup }),
  };
}

function chatScenario(id, title, record, window, primary) {
  const metrics = [
    { key: 'records_s', label: 'messages/s', better: 'higher', summary: primary === 'records_s' },
    { key: 'mib_s', label: 'MiB/s', better: 'higher', summary: primary === 'mib_s' },
    cpu(primary === 'mib_s' ? 'MiB' : 'message'),
  ];
  return {
    id, title, mode: 'chat', servers: TCP_SERVERS, metrics, cpu: { per: primary },
    measure: (s, cfg) => load.stream(s.port, { bytes: 2 ** 50, record, window, seconds: cfg.chatSeconds }),
  };
}

export const SCENARIOS = [
  httpScenario('http-50', 'HTTP/1.1 keep-alive "hello", 50 connections', 50, 1, {
    rps: { net: [vs('node-net', 1.0), vs('node-http', 2.0)], native: NATIVE_RATE },
    p99: { native: NATIVE_P99 },
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
    p99: { native: NATIVE_P99 },
  }),
  echoScenario('echo-1000', 'TCP echo ping-pong, 64 B, 1,000 connections', 1000, {
    rps: { net: [vs('node-net', 1.0)], native: NATIVE_RATE },
    p99: { native: NATIVE_P99 },
  }),
  {
    id: 'bulk', title: 'Bulk: one connection streaming through an echo', mode: 'echo', servers: TCP_SERVERS,
    metrics: [
      { key: 'mib_s', label: 'MiB/s', better: 'higher', summary: true,
        targets: { net: [vs('node-net', 0.9)], native: [vs('node-net', 1.0)] } },
      { key: 'mib', label: 'MiB echoed', better: 'higher' },
      { key: 'seconds', label: 's', better: 'lower' },
      cpu('MiB'),
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
      { key: 'rss_per_conn', label: 'RSS B/conn', better: 'lower', summary: true,
        targets: { net: [vs('node-net', 1.2)] } },
      { key: 'core_per_conn', label: 'core B/conn', better: 'lower', summary: true, chart: false,
        targets: { net: [{ max: 256, text: '≤ 256 B' }] } },
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
  chatScenario('chat-lines', 'AsyncChat line framing: 50-byte lines', 50, LINE_WINDOW, 'records_s'),
  chatScenario('chat-1mib', 'AsyncChat framing: 1 MiB messages', MESSAGE_SIZE, BULK_WINDOW, 'mib_s'),
];
