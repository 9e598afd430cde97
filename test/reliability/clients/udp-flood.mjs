// A paced datagram flood, forked by the datagram reliability test: a window of outstanding
// datagrams awaiting their echo (an unpaced burst would only overflow the kernel's buffer).
// Each datagram carries its sequence number and a payload derived from it, so an echo is
// checked byte for byte. An echo not back within `lostMs` is given up (the server may have
// dropped it), freeing its place in the window.
//
// Protocol (IPC): the parent sends one job; the child answers { sent, echoed, late, corrupt,
// lost, sendErrors, ms } and exits. Job: { host, port, total, window, minSize, maxSize, lostMs, seed }
import * as dgram from "node:dgram";
import { pattern } from "./pattern.mjs";

function datagram(pat, seq, size) {
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32LE(seq, 0);
  b.writeUInt32LE(size, 4);
  pat.slice((seq * 977) % 65521, size - 8).copy(b, 8);
  return b;
}

process.once("message", (job) => {
  const pat = pattern(job.seed);
  const sock = dgram.createSocket("udp4");
  const outstanding = new Map(); // seq → time sent
  const sizeOf = (seq) => job.minSize + ((seq * 2654435761) >>> 0) % (job.maxSize - job.minSize + 1);
  let next = 0, sent = 0, echoed = 0, late = 0, corrupt = 0, lost = 0, sendErrors = 0, inSend = 0;
  const started = Date.now();
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(timer);
    sock.close();
    process.send({ sent, echoed, late, corrupt, lost, sendErrors, ms: Date.now() - started }, () => process.exit(0));
  };

  const pump = () => {
    while (next < job.total && outstanding.size < job.window) {
      const seq = next++;
      const d = datagram(pat, seq, sizeOf(seq));
      outstanding.set(seq, Date.now()); // before send(): its echo may beat the send callback
      inSend++;
      sock.send(d, job.port, job.host, (err) => {
        inSend--;
        if (err) { sendErrors++; outstanding.delete(seq); return; }
        sent++;
      });
    }
    if (next >= job.total && outstanding.size === 0 && inSend === 0) finish();
  };

  sock.on("message", (msg) => {
    if (msg.length < 8) { corrupt++; return; }
    const seq = msg.readUInt32LE(0);
    if (seq >= next || !msg.equals(datagram(pat, seq, sizeOf(seq)))) corrupt++;
    else if (outstanding.delete(seq)) echoed++;
    else late++; // given up on already: it still came back intact
    pump();
  });
  sock.on("error", (err) => process.send({ fatal: String(err) }, () => process.exit(1)));

  const timer = setInterval(() => {
    const now = Date.now();
    for (const [seq, at] of outstanding) {
      if (now - at < job.lostMs) break; // in send order: the rest are younger
      outstanding.delete(seq);
      lost++;
    }
    pump();
  }, 5);
  sock.bind(0, "127.0.0.1", pump);
});
