// Node peers for bench/tls-compare.mjs: `https` (https.createServer) and `tls` (tls.createServer,
// the request heads counted by hand as the wasyncore server does).
// usage: node tls_node.mjs https|tls CERT KEY keepalive|close   (prints its port, then serves)
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { announcePort, RequestCounter, responses } from './common.mjs';

const [kind, certFile, keyFile, mode] = process.argv.slice(2);
const opts = { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
const closeAfter = mode === 'close';
// close mode: the response says it closes (wrk then counts no read error)
const CLOSING = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
let server;
if (kind === 'https') {
  server = https.createServer(opts, (req, res) => {
    res.writeHead(200, closeAfter ? { 'Content-Length': '5', Connection: 'close' } : { 'Content-Length': '5' });
    res.end('hello');
  });
  server.keepAliveTimeout = 60_000;
} else {
  server = tls.createServer(opts, (sock) => {
    const counter = new RequestCounter();
    sock.on('data', (chunk) => {
      const n = counter.feed(chunk);
      if (n === 0) return;
      if (closeAfter) sock.end(CLOSING);
      else sock.write(responses(n));
    });
    sock.on('error', () => sock.destroy());
  });
}
server.on('tlsClientError', () => {});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => announcePort(server.address().port));
