// wasyncore servers, written against the public API (SPEC.md), imported from the
// compiled package. usage: [WASYNCORE_BACKEND=native|net] node wasyncore.mjs http|echo|chat|check
// Prints its port, then serves ("check": prints "OK <backend>" and exits). SIGUSR2 prints
// "STATS <loopStats() as JSON, plus the backend>". When WASYNCORE_BACKEND names a backend
// this machine cannot load, prints "UNAVAILABLE <why>"; a socket on another backend than the
// one asked for is an error (the numbers would be labelled wrong).
// WASYNCORE_SHAPE=writable (http, echo): the handlers extend Dispatcher itself, keep their own
// output buffer and override writable() (the common asyncore shape, asked every pass); the
// default shape is DispatcherWithSend, whose writability the library tracks.
import { existsSync } from 'node:fs';
import { announcePort, modeFromArgv, RequestCounter, responses, unavailable } from './common.mjs';

const ENTRY = new URL('../../build/host/index.js', import.meta.url);
const CHAT_ENTRY = new URL('../../build/host/asyncore/chat.js', import.meta.url);
const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const ACCEPTS_PER_EVENT = 64;

async function loadApi(mode) {
  if (!existsSync(ENTRY)) unavailable('not built (no build/host/index.js; run npm run build)');
  const api = { ...(await import(ENTRY.href)) };
  if (mode === 'chat' && !api.AsyncChat && existsSync(CHAT_ENTRY)) {
    api.AsyncChat = (await import(CHAT_ENTRY.href)).AsyncChat;
  }
  if (mode === 'chat' && !api.AsyncChat) unavailable('AsyncChat not available');
  return api;
}

/**
 * The echo handlers read with socket.recvInto() into one shared 64 KiB buffer (Python's
 * recv_into: no fresh Buffer per read; send() takes or copies what it is given), where the
 * build has it; recv(65536) otherwise. EOF → handleClose(), as Dispatcher.recv() does.
 */
const INBUF = Buffer.alloc(65536);
let INTO = false;

function readInto(handler) {
  let n;
  try {
    n = handler.socket.recvInto(INBUF);
  } catch (err) {
    if (err?.code === 'EAGAIN') return -1;
    throw err;
  }
  if (n === 0) handler.handleClose();
  return n;
}

/** Handler classes for each mode; all reply through the API's own send paths. */
function handlerClass(api, mode) {
  const { DispatcherWithSend, AsyncChat } = api;
  // WASYNCORE_BENCH_READ=recv: the recv(65536) path even where recvInto exists (to compare the two)
  INTO = typeof api.Socket?.prototype?.recvInto === 'function' && process.env.WASYNCORE_BENCH_READ !== 'recv';

  class Handler extends DispatcherWithSend {
    readChunk() {
      try {
        return this.recv(65536);
      } catch (err) {
        if (err?.code === 'EAGAIN') return null;
        throw err;
      }
    }

    handleClose() {
      this.close();
    }
  }

  class HttpHandler extends Handler {
    counter = new RequestCounter();

    handleRead() {
      const data = this.readChunk();
      if (!data?.length) return;
      const n = this.counter.feed(data);
      if (n) this.send(responses(n));
    }
  }

  class EchoHandler extends Handler {
    handleRead() {
      if (INTO) {
        const n = readInto(this);
        if (n > 0) this.send(INBUF.subarray(0, n));
        return;
      }
      const data = this.readChunk();
      if (data?.length) this.send(data);
    }
  }

  /** The asyncore shape that overrides writable(): sends from handleRead, the rest from handleWrite. */
  class WritableHandler extends api.Dispatcher {
    out = EMPTY;

    readChunk() {
      return Handler.prototype.readChunk.call(this);
    }

    queue(data) {
      this.out = this.out.length ? Buffer.concat([this.out, data]) : data;
      this.handleWrite();
    }

    writable() {
      return this.out.length > 0;
    }

    handleWrite() {
      const n = this.send(this.out);
      this.out = n === this.out.length ? EMPTY : this.out.subarray(n);
    }

    handleClose() {
      this.close();
    }
  }

  class WritableHttp extends WritableHandler {
    counter = new RequestCounter();

    handleRead() {
      const data = this.readChunk();
      if (!data?.length) return;
      const n = this.counter.feed(data);
      if (n) this.queue(responses(n));
    }
  }

  class WritableEcho extends WritableHandler {
    handleRead() {
      if (INTO) {
        const n = readInto(this);
        if (n > 0) this.queue(Buffer.from(INBUF.subarray(0, n))); // queue() may keep it: its own copy
        return;
      }
      const data = this.readChunk();
      if (data?.length) this.queue(data);
    }
  }

  const writableShape = process.env.WASYNCORE_SHAPE === 'writable';
  if (mode === 'http') return writableShape ? WritableHttp : HttpHandler;
  if (mode === 'echo') return writableShape ? WritableEcho : EchoHandler;

  return class LineEcho extends AsyncChat {
    constructor(sock) {
      super(sock);
      this.parts = [];
      this.setTerminator('\n');
    }

    collectIncomingData(data) {
      this.parts.push(data);
    }

    foundTerminator() {
      this.parts.push(NEWLINE);
      this.push(Buffer.concat(this.parts));
      this.parts = [];
    }

    handleClose() {
      this.close();
    }
  };
}

function listenerClass(api, Handler) {
  const { Dispatcher, AF_INET, SOCK_STREAM } = api;
  return class Listener extends Dispatcher {
    constructor() {
      super();
      this.createSocket(AF_INET, SOCK_STREAM);
      this.setReuseAddr();
      this.bind(['127.0.0.1', 0]);
      this.listen(1024);
    }

    handleAccept() {
      for (let i = 0; i < ACCEPTS_PER_EVENT; i++) {
        const pair = this.accept();
        if (!pair) return;
        this.handleAccepted(pair[0], pair[1]);
      }
    }

    handleAccepted(sock) {
      new Handler(sock);
    }
  };
}

function reportStatsOnSignal(api, backend) {
  const toNumber = (_key, value) => (typeof value === 'bigint' ? Number(value) : value);
  process.on('SIGUSR2', () => {
    const stats = typeof api.loopStats === 'function' ? { ...api.loopStats(), backend } : null;
    process.stdout.write(`STATS ${JSON.stringify(stats, toNumber)}\n`);
  });
}

const backendOf = (api, sock) => (api.NativeSocket && sock instanceof api.NativeSocket ? 'native' : 'net');

/** The listener, on the backend WASYNCORE_BACKEND asks for (or UNAVAILABLE when it cannot load here). */
function listen(Listener, api) {
  const wanted = process.env.WASYNCORE_BACKEND || null;
  let server;
  try {
    server = new Listener();
  } catch (err) {
    const why = /native backend is not available here: (.*)/s.exec(String(err?.message ?? err));
    if (wanted === 'native' && why) unavailable(`native backend: ${why[1].split('\n')[0]}`);
    throw err;
  }
  const backend = backendOf(api, server.socket);
  if (wanted && backend !== wanted) {
    process.stderr.write(`WASYNCORE_BACKEND=${wanted} but the listening socket is a ${backend} one\n`);
    process.exit(1);
  }
  return { server, backend };
}

const mode = modeFromArgv(['check']);
const api = await loadApi(mode);
const Listener = listenerClass(api, handlerClass(api, mode === 'check' ? 'echo' : mode));
const { server, backend } = listen(Listener, api);
if (mode === 'check') {
  process.stdout.write(`OK ${backend}\n`);
  process.exit(0);
}
reportStatsOnSignal(api, backend);
announcePort(server.socket.getsockname()[1]);
await api.loop({ timeout: 30 });
