// Raw Node `net` peer: the floor any Node-hosted engine pays.
// usage: node node_net.mjs http|echo|chat   (prints its port, then serves)
import net from 'node:net';
import { announcePort, LineSplitter, modeFromArgv, RequestCounter, responses } from './common.mjs';

const NEWLINE = Buffer.from('\n');

const handlers = {
  http(sock) {
    const counter = new RequestCounter();
    sock.on('data', (chunk) => {
      const n = counter.feed(chunk);
      if (n) sock.write(responses(n));
    });
  },
  echo(sock) {
    sock.on('data', (chunk) => sock.write(chunk));
  },
  chat(sock) {
    const splitter = new LineSplitter();
    const reply = (message) => {
      sock.write(message);
      sock.write(NEWLINE);
    };
    sock.on('data', (chunk) => {
      sock.cork();
      splitter.feed(chunk, reply);
      sock.uncork();
    });
  },
};

const handle = handlers[modeFromArgv()];
const server = net.createServer((sock) => {
  sock.on('error', () => sock.destroy());
  handle(sock);
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => announcePort(server.address().port));
