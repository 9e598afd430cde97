// Echo throughput, same run, same client: the AssemblyScript echo server (host flavour, under
// the Node runner) vs the same echo in TypeScript on wasyncore vs raw Node `net`.
// usage: node bench/wasm-echo.mjs [--seconds 3] [--conns 50] [--size 64] [--rounds 3]
// Each server runs in its own process; the client keeps `conns` connections in ping-pong
// (send `size` bytes, wait for them back) and counts round trips per second.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 3);
const CONNS = arg('conns', 50);
const SIZE = arg('size', 64);
const ROUNDS = arg('rounds', 3);

const SERVERS = {
  'as-wasm (host flavour)': `
    const { WasmServer } = await import(${JSON.stringify(`${root}build/host/sandbox/index.js`)});
    const fs = await import('node:fs');
    const s = await WasmServer.start(${JSON.stringify(`${root}build/servers/echo.host.wasm`)}, { listen: ['127.0.0.1:0'], stdout: fs.openSync('/dev/null', 'w') });
    process.stdout.write(s.listening[0].port + '\\n');`,
  'ts-wasyncore': `
    const { Dispatcher, loop } = await import(${JSON.stringify(`${root}build/host/index.js`)});
    class Echo extends Dispatcher {
      handleRead() { const d = this.recv(65536); if (d.length) this.send(d); }
      writable() { return false; }
      handleClose() { this.close(); }
    }
    class Server extends Dispatcher {
      handleAccepted(sock) { new Echo(sock); }
    }
    const s = new Server(); s.createSocket(); s.bind(['127.0.0.1', 0]); s.listen(1024);
    process.stdout.write(s.socket.getsockname()[1] + '\\n');
    await loop({ timeout: 30 });`,
  'node-net': `
    const net = await import('node:net');
    const server = net.createServer((sock) => { sock.on('error', () => sock.destroy()); sock.on('data', (c) => sock.write(c)); });
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => process.stdout.write(server.address().port + '\\n'));`,
};

function startServer(code) {
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ port: Number(m[1]), stop: () => child.kill() });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function drive(port) {
  const payload = Buffer.alloc(SIZE, 'x');
  let trips = 0;
  let bad = 0;
  let running = true;
  const socks = await Promise.all(Array.from({ length: CONNS }, () => new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.once('error', reject);
  })));
  const start = process.hrtime.bigint();
  for (const c of socks) {
    c.setNoDelay(true);
    let got = 0;
    c.on('data', (d) => {
      got += d.length;
      if (got > SIZE) bad++;
      if (got >= SIZE) {
        got = 0;
        trips++;
        if (running) c.write(payload);
      }
    });
    c.write(payload);
  }
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  running = false;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const c of socks) c.destroy();
  return { rate: trips / secs, bad };
}

const results = Object.fromEntries(Object.keys(SERVERS).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, code] of Object.entries(SERVERS)) {
    const s = await startServer(code);
    const { rate, bad } = await drive(s.port);
    s.stop();
    results[name].push(rate);
    process.stderr.write(`round ${round + 1} ${name}: ${Math.round(rate)} round trips/s${bad ? ` (${bad} oversize reads)` : ''}\n`);
  }
}
const best = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.max(...v)]));
const base = best['node-net'];
console.log(`echo ping-pong, ${CONNS} connections, ${SIZE}-byte messages, best of ${ROUNDS} × ${SECONDS}s:`);
for (const [name, rate] of Object.entries(best)) {
  console.log(`  ${name.padEnd(24)} ${String(Math.round(rate)).padStart(8)} round trips/s   ${(rate / base).toFixed(2)}× node-net`);
}
console.log(`  as-wasm / ts-wasyncore: ${(best['as-wasm (host flavour)'] / best['ts-wasyncore']).toFixed(2)}×`);
