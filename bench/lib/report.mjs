// bench/RESULTS.md: machine header, a summary of ratios per wasyncore backend with
// each backend's targets (net: issues 7 and 16, native: issues 9 and 16), for every missed
// target the measured breakdown (user µs, kernel µs, syscalls per operation) beside the
// peers', and one table per scenario.
import { backendOf, SERVERS, SUBJECTS } from './servers.mjs';
import { fmt, fmtRatio, ratio } from './stats.mjs';

/** [id, column label, short name in target checks] */
export const PEERS = [
  ['node-net', 'Node net', 'Node net'],
  ['node-http', 'Node http', 'Node http'],
  ['asyncore', 'CPython asyncore / asynchat', 'asyncore'],
  ['asyncio', 'CPython asyncio', 'asyncio'],
  ['uvloop', 'uvloop', 'uvloop'],
];
const ISSUE = { native: 'issues 9, 16', net: 'issues 7, 16' };
const NET = 'wasyncore-net';

export const titleOf = (scenario, cfg) =>
  typeof scenario.title === 'function' ? scenario.title(cfg) : scenario.title;

const cellOf = (result, id) => result.cells.find((c) => c.id === id);
/** A skipped cell's reason as a table shows it (the full reason goes in the notes). */
export const shortReason = (cell) => (cell.reason == null ? null : cell.unavailable ? 'unavailable' : cell.reason);
/** The wasyncore backends that have a cell in this result (all, unless --servers left one out). */
const subjectsIn = (result) => SUBJECTS.filter((id) => cellOf(result, id));
const valueOf = (result, id, key) => cellOf(result, id)?.median?.[key] ?? null;

/**
 * The summary rows: one per scenario metric marked `summary` and wasyncore backend, with
 * the backend's value, its ratio to each peer (and, for native, to the net backend) and
 * its targets.
 */
export function summaryRows(results, cfg) {
  return results.flatMap((result) =>
    result.scenario.metrics.filter((m) => m.summary).flatMap((metric) => subjectsIn(result).map((id, i) => {
      const subject = valueOf(result, id, metric.key);
      const values = Object.fromEntries(PEERS.map(([peer]) => [peer, valueOf(result, peer, metric.key)]));
      const ratios = Object.fromEntries(PEERS.map(([peer]) => [peer, ratio(subject, values[peer])]));
      const peers = Object.fromEntries(PEERS.map(([peer]) => [peer, cellOf(result, peer)?.label ?? null]));
      const cell = cellOf(result, id);
      return {
        title: titleOf(result.scenario, cfg), first: i === 0, metric, id, backend: backendOf(id),
        label: cell?.label ?? id, subject, skipped: cell ? shortReason(cell) : null, values, ratios, peers,
        vsNet: id === NET ? null : ratio(subject, valueOf(result, NET, metric.key)),
        targets: metric.targets?.[backendOf(id)] ?? [],
      };
    })));
}

const mark = (ok) => (ok == null ? '·' : ok ? '✅' : '❌');
const peerName = (peer) => PEERS.find(([id]) => id === peer)[2];

/** The row's targets as [{ text, ok }] (ok: true met, false not yet, null no data). */
function checksOf({ metric, subject, ratios, values, targets }) {
  const cmp = metric.better === 'higher' ? '≥' : '≤';
  return targets.map((t) => {
    if (t.max != null) return { text: t.text, ok: subject == null ? null : subject <= t.max };
    if (t.min != null) return { text: t.text, ok: subject == null ? null : subject >= t.min };
    if (t.best) {
      const best = bestPeer(metric, values);
      const r = best && ratio(subject, best.value);
      return { text: `${cmp} ${t.x.toFixed(1)}× the best peer${best ? ` (${peerName(best.id)})` : ''}`, peer: best?.id, x: t.x,
        ok: r == null ? null : metric.better === 'higher' ? r >= t.x : r <= t.x };
    }
    const r = ratios[t.peer];
    return { text: `${cmp} ${t.x.toFixed(1)}× ${peerName(t.peer)}`, peer: t.peer, x: t.x,
      ok: r == null ? null : metric.better === 'higher' ? r >= t.x : r <= t.x };
  });
}

/** The peer with the best value of `metric` ({ id, value }), or null. */
function bestPeer(metric, values) {
  const have = Object.entries(values).filter(([, v]) => v != null && v > 0);
  if (have.length === 0) return null;
  const [id, value] = have.reduce((a, b) => ((metric.better === 'higher' ? b[1] > a[1] : b[1] < a[1]) ? b : a));
  return { id, value };
}

/** The row's targets, each with ✅ / ❌ / · (no data). */
const targetChecks = (row) => checksOf(row).map((c) => `${c.text} ${mark(c.ok)}`).join('<br>');

/** Targets met / missed / total over all summary rows of one backend. */
export function targetTally(rows, backend) {
  const checks = rows.filter((r) => r.backend === backend).flatMap(checksOf);
  return { met: checks.filter((c) => c.ok === true).length, missed: checks.filter((c) => c.ok === false).length,
    total: checks.length };
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A warning line when other work shared the machine (1-minute load average above half the cores). */
function busyWarning(info) {
  const [load1] = info.loadavg.split(' ').map(Number);
  if (!(load1 > info.cores / 2)) return [];
  return [`> **The machine was busy** (load average ${load1} on ${info.cores} cores at start): the numbers are noisy; ` +
    'rerun on an idle machine before drawing conclusions.', ''];
}

function headerSection(info, cfg, mode, unavailable, seconds) {
  const backends = SUBJECTS.map((id) => `${SERVERS[id].label()}: ${unavailable[id] ? `unavailable — ${unavailable[id]}` : 'ran'}`);
  return [
    '# wasyncore benchmarks',
    '',
    `Generated by \`node bench/run.mjs${mode === 'full' ? '' : ` --${mode}`}\` on ${info.date}. ` +
      'Do not edit by hand: run the harness again.',
    '',
    ...busyWarning(info),
    table(['', ''], [
      ['Machine', `${info.cpu}, ${info.memory}, ${info.os}; load average at start ${info.loadavg}`],
      ['Node', info.node],
      ['Python', `${info.python ?? 'missing'}; ${info.uvloop ?? 'uvloop not installed (its rows are skipped)'}`],
      ['Load', `${info.wrk} (HTTP); C clients built with ${info.gcc} (TCP)`],
      ['Method', `server pinned to core 0, load to core 1 (\`taskset\`); ${cfg.rounds} round(s), servers ` +
        `interleaved A B C … per round, ${cfg.reuseServers ? 'one server process per mode, shared by ' +
        'consecutive scenarios of that mode (fresh per run for idle)' : 'a fresh server process per run'}; medians${seconds ? `; the run took ${Math.round(seconds)} s` : ''}`],
      ['wasyncore', `${backends.join('; ')} — same server script, \`WASYNCORE_BACKEND=native\` / \`=net\``],
    ]),
  ].join('\n');
}

function summarySection(rows, note) {
  const body = rows.map((row) => [
    row.first ? row.title : '', row.first ? row.metric.label + (row.metric.better === 'lower' ? ' (lower is better)' : '') : '',
    row.label, row.subject == null && row.skipped ? row.skipped : fmt(row.subject),
    ...PEERS.map(([id]) => (row.peers[id] ? fmtRatio(row.ratios[id]) : '')),
    row.id === NET ? '' : fmtRatio(row.vsNet),
    targetChecks(row) || '—',
  ]);
  const tally = Object.entries(ISSUE).map(([backend, issue]) => {
    const t = targetTally(rows, backend);
    const nodata = t.total - t.met - t.missed;
    return `${backend} ${t.met} of ${t.total} (${issue}${nodata ? `; ${nodata} without data` : ''})`;
  });
  return [
    '## Summary: each wasyncore backend ÷ peer',
    '',
    'Two rows per scenario metric, one per syscall backend: **native** (the epoll addon, the default where it ' +
      'builds) and **net** (portable, over `node:net`). Each ratio is that backend\'s median divided by the ' +
      'peer\'s, from the same run (for lower-is-better metrics a ratio below 1× means wasyncore is ahead). ' +
      'Targets: the net backend is held to issues 7 and 16, the native backend to issues 9 and 16 (✅ met, ❌ not yet, ' +
      '· no data, — none set).',
    ...(note ? ['', note] : []),
    '',
    `**Targets met:** ${tally.join(', ')}.`,
    '',
    table(['Scenario', 'Metric', 'Backend', 'Value', ...PEERS.map(([, label]) => `÷ ${label}`), '÷ wasyncore (net)',
      'Targets'], body),
    '',
    '![each wasyncore backend relative to each peer](results.svg)',
  ].join('\n');
}

const BREAKDOWN_PEERS = ['asyncore', 'uvloop', 'node-net'];
const TOP_SYSCALLS = 4;

/** "recvfrom 1.0, sendto 1.0, epoll_wait 0.31" — the most frequent syscalls per operation. */
function topSyscalls(cell) {
  const by = cell?.syscalls?.by;
  if (!by) return '—';
  return Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, TOP_SYSCALLS)
    .map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ') || '—';
}

/**
 * What would close a missed throughput target, from the numbers: with the server core saturated
 * the rate is about 1 ÷ CPU per operation, so reaching x× the peer needs CPU per operation ≤ the
 * peer's ÷ x; the kernel's part is priced per syscall from the subject's own kernel µs ÷ syscalls.
 */
function closingText(row, check, result) {
  const me = cellOf(result, row.id)?.median;
  const peer = cellOf(result, check.peer)?.median;
  const unit = result.scenario.opUnit ?? 'op';
  if (row.metric.key !== 'rps' && row.metric.key !== 'mib_s') {
    if (row.metric.key === 'p99_ms') return 'the tail: find what runs between a socket becoming ready and its handler (per-pass latency histogram)';
    if (row.metric.key === 'rss_per_conn' || row.metric.key === 'core_per_conn') {
      return 'less memory held per idle connection: the JS objects of a channel (dispatcher, socket, stream state) and, on net, its libuv handle; compare a heap snapshot with and without the idle connections';
    }
    if (row.metric.key === 'pass_cost_us') return 'per-pass work proportional to active channels, not to all of them';
    if (row.metric.key === 'keep') return 'per-pass work proportional to active channels: the CPU per request with idle connections open should equal the CPU without';
    return '—';
  }
  if (!me?.cpu_us || !peer?.cpu_us) return 'no CPU numbers';
  const need = peer.cpu_us / check.x;
  const cut = me.cpu_us - need;
  if (cut <= 0) {
    return `CPU/${unit} is already ≤ ${fmt(need)} µs (${fmt(me.cpu_us)}): the gap is not server CPU — the server core was not saturated (load or client limits) or the peer overlapped work with the client; compare p99 and idle time`;
  }
  const parts = [`CPU/${unit} ≤ ${fmt(need)} µs (today ${fmt(me.cpu_us)}: cut ${fmt(cut)} µs, ${Math.round((cut / me.cpu_us) * 100)}%)`];
  const perCall = me.sys_per_op > 0 && me.sys_us != null ? me.sys_us / me.sys_per_op : null;
  if (perCall != null && peer.sys_per_op != null) {
    const extra = me.sys_per_op - peer.sys_per_op;
    parts.push(extra > 0.05
      ? `${extra.toFixed(2)} more syscalls/${unit} than the peer at ~${fmt(perCall)} µs each in the kernel here ≈ ${fmt(extra * perCall)} µs`
      : `syscalls/${unit} no higher than the peer's: the kernel side is at par (${fmt(perCall)} µs per syscall)`);
  }
  if (me.sys_us != null && peer.sys_us != null && me.sys_us > peer.sys_us) {
    parts.push(`kernel time ${fmt(me.sys_us - peer.sys_us)} µs/${unit} above the peer's`);
  }
  if (me.user_us != null && peer.user_us != null) {
    parts.push(me.user_us > peer.user_us
      ? `user time ${fmt(me.user_us - peer.user_us)} µs/${unit} above the peer's`
      : `user time already ${fmt(peer.user_us - me.user_us)} µs/${unit} below the peer's: the rest must come from fewer or cheaper kernel crossings (batched sends, fewer epoll_wait per request)`);
  }
  return parts.join('; ');
}

/** For every missed target: the subject's and the peers' user µs, kernel µs and syscalls per operation, and what would close it. */
function breakdownSection(results, cfg) {
  const blocks = [];
  for (const result of results) {
    const rows = summaryRows([result], cfg);
    for (const row of rows) {
      const missed = checksOf(row).filter((c) => c.ok === false);
      if (missed.length === 0) continue;
      const unit = result.scenario.opUnit ?? 'op';
      const ids = [row.id, ...new Set([...missed.map((c) => c.peer).filter(Boolean), ...BREAKDOWN_PEERS])]
        .filter((id) => cellOf(result, id)?.median);
      const lines = ids.map((id) => {
        const cell = cellOf(result, id);
        const m = cell.median;
        return [cell.label, fmt(m[row.metric.key]), fmt(m.cpu_us), fmt(m.user_us), fmt(m.sys_us), fmt(m.sys_per_op), topSyscalls(cell)];
      });
      blocks.push([
        `#### ${row.title} — ${row.metric.label}, ${row.label}`,
        '',
        `Missed: ${missed.map((c) => c.text).join('; ')}.`,
        '',
        table(['Server', row.metric.label, `CPU µs/${unit}`, 'user µs', 'kernel µs', `syscalls/${unit}`, 'top syscalls per ' + unit], lines),
        '',
        ...missed.filter((c) => c.peer).map((c) => `- To meet ${c.text}: ${closingText(row, c, result)}.`),
        ...missed.filter((c) => !c.peer).map((c) => `- To meet ${c.text}: ${closingText(row, c, result)}.`),
      ].join('\n'));
    }
  }
  if (blocks.length === 0) return '## Missed targets: where the time goes\n\nEvery target with data was met.';
  return [
    '## Missed targets: where the time goes',
    '',
    'For each target not met: the wasyncore backend\'s server CPU per operation split into user and kernel time ' +
      '(from /proc), and its syscalls per operation (one more run with the syscalls counted), beside the same ' +
      'numbers for the peers. "What would close it" is arithmetic on these numbers: with the server core saturated ' +
      'a server\'s rate is about 1 ÷ its CPU per operation.',
    '',
    blocks.join('\n\n'),
  ].join('\n');
}

function scenarioSection(result, cfg) {
  const { scenario, cells } = result;
  const primary = scenario.metrics.find((m) => m.summary) ?? scenario.metrics[0];
  const subjects = subjectsIn(result).map((id) => cellOf(result, id));
  const rows = cells.map((cell) => {
    const mine = subjects.map((s) => (s === cell ? '' : fmtRatio(ratio(s?.median?.[primary.key], cell.median?.[primary.key]))));
    if (!cell.median) return [cell.label, ...scenario.metrics.map(() => '—'), '0', ...subjects.map(() => shortReason(cell) ?? 'failed')];
    return [cell.label, ...scenario.metrics.map((m) => fmt(cell.median[m.key])), String(cell.samples.length), ...mine];
  });
  const notes = cells.flatMap((cell) => [
    ...(cell.reason ? [`${cell.label}: ${cell.reason}`] : []),
    ...cell.errors.map((e) => `${cell.label}: ${e.split('\n')[0]}`),
  ]);
  const ratioHeads = subjects.map((s) => `${s.label} ÷ this (${primary.label})`);
  return [
    `### ${titleOf(scenario, cfg)}`,
    '',
    table(['Server', ...scenario.metrics.map((m) => m.label), 'runs', ...ratioHeads], rows),
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}

function methodSection(cfg, info) {
  const warm = (seconds) => (seconds > 0 ? ` after a ${seconds} s warm-up` : '');
  return [
    '## Scenarios',
    '',
    `HTTP rows: \`wrk -t1\` for ${cfg.wrkSeconds} s${warm(cfg.warmupSeconds)}. ` +
      `Echo rows: \`bench/load/echo_client.c\` for ${cfg.echoSeconds} s${warm(cfg.echoWarmup)}. ` +
      `Bulk: ${cfg.bulkBytes / 2 ** 20} MiB with at most 4 MiB in flight, stopped after ${cfg.bulkCapSeconds} s. ` +
      `Idle: up to ${cfg.idleConns.toLocaleString('en-US')} connections (opening stops after ${cfg.idleConnectCap} s), ` +
      'each after one 1-byte echo; "added pass µs" is the median round trip of one active connection with them ' +
      `open minus without. Chat: line echo for ${cfg.chatSeconds} s. "server CPU" is the server process's user + ` +
      'system time (from /proc) over the measurement divided by the operations it served: less sensitive than ' +
      'throughput to other work on the machine; "user µs" and "kernel µs" split it. "syscalls/…" come from one more ' +
      `run per server after the rounds, counted with ${info?.syscallTool === 'strace' ? '`strace -c -f` (which slows the server, so it batches more per wake-up than unobserved)' : info?.syscallTool === 'perf' ? '`perf stat` on the kernel\'s syscall tracepoints (the server runs at full speed)' : 'no tool (neither perf nor strace works here)'}, ` +
      'every thread of the server, divided by the operations the load completed. ' +
      `Idle HTTP rows: \`wrk -c50\` for ${cfg.wrkSeconds} s without, then with ${cfg.idleHttpConns.toLocaleString('en-US')} idle ` +
      'keep-alive connections open (each made one request, then stays silent), in one server process; "kept" is the ' +
      'ratio. The wasyncore servers there use DispatcherWithSend, or (the `writable()` row) a Dispatcher subclass that ' +
      'overrides writable() — the common asyncore shape, asked every pass. The two wasyncore rows run the same server script ' +
      '(bench/servers/wasyncore.mjs) with `WASYNCORE_BACKEND=native` and `=net`. Details: bench/README.md.',
  ].join('\n');
}

export function renderMarkdown({ results, info, cfg, mode, unavailable = {}, seconds }) {
  const missing = Object.entries(unavailable).map(([id, why]) => `**${SERVERS[id].label()} is unavailable here** (${why})`);
  const note = missing.length ? `${missing.join('; ')}: its rows have no numbers.` : null;
  return [
    headerSection(info, cfg, mode, unavailable, seconds),
    summarySection(summaryRows(results, cfg), note),
    breakdownSection(results, cfg),
    '## Results',
    ...results.map((r) => scenarioSection(r, cfg)),
    methodSection(cfg, info),
    '',
  ].join('\n\n');
}

// Sections other tools write into RESULTS.md between markers (bench/workers.mjs: several cores);
// a new run of the harness keeps them.
const KEPT_SECTIONS = /<!-- (\w+):begin[\s\S]*?<!-- \1:end -->\n?/g;

/** `fresh` (a new RESULTS.md) with the marked sections of `old` appended. */
export function keepSections(old, fresh) {
  const kept = old.match(KEPT_SECTIONS) ?? [];
  return kept.length ? `${fresh.trimEnd()}\n\n${kept.map((k) => k.trimEnd()).join('\n\n')}\n` : fresh;
}
