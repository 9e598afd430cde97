// Node `http` peer: what most Node users would reach for.
// usage: node node_http.mjs   (prints its port, then serves "hello")
import http from 'node:http';
import { announcePort } from './common.mjs';

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Length': '5' });
  res.end('hello');
});
server.keepAliveTimeout = 60_000;
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => announcePort(server.address().port));
