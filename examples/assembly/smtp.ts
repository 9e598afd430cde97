// A minimal SMTP receiver on AsyncChat, written in AssemblyScript: examples/smtp-sink.ts line for
// line (Python's smtpd.DebuggingServer in spirit): it accepts mail for anyone and prints each message.
// Every reply is one line, byte for byte what the TypeScript sink answers.
// Build: npm run build:servers → build/servers/smtp.host.wasm and smtp.wasix.wasm.
// Run:   npx wasyncore run build/servers/smtp.host.wasm --listen 127.0.0.1:8025 [-- --fqdn NAME]
import { AsyncChat, Dispatcher, Socket, serve, argValue, parseHostPort, errnoName } from "../../assembly/server";

const CRLF = Uint8Array.wrap(String.UTF8.encode("\r\n"));
const END_OF_DATA = Uint8Array.wrap(String.UTF8.encode("\r\n.\r\n"));
const COMMAND_SIZE_LIMIT = 512; // RFC 5321 4.5.3.1.4, as smtpd
const DATA_SIZE_LIMIT = 32 * 1024 * 1024;

/** The name in the greeting and the HELO reply (the TypeScript sink uses os.hostname()). */
let fqdn = "localhost";

function latin1(bytes: Uint8Array): string {
  let codes = new Array<i32>(bytes.length);
  for (let i = 0; i < bytes.length; i++) unchecked(codes[i] = bytes[i]);
  return String.fromCharCodes(codes);
}

function concat(parts: Array<Uint8Array>): Uint8Array {
  let n = 0;
  for (let i = 0; i < parts.length; i++) n += parts[i].length;
  let out = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
  return out;
}

// JavaScript's \s over the characters a latin-1 line can hold, and the ones `.` does not match
function isSpace(c: i32): bool { return c == 32 || (c >= 9 && c <= 13) || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff; }
function isLineEnd(c: i32): bool { return c == 10 || c == 13 || c == 0x2028 || c == 0x2029; }

/** Matches JavaScript's /(\s.*)?$/ at `from`: empty, or whitespace followed by no line terminator. */
function restOk(s: string, from: i32): bool {
  if (from == s.length) return true;
  if (!isSpace(s.charCodeAt(from))) return false;
  for (let i = from + 1; i < s.length; i++) if (isLineEnd(s.charCodeAt(i))) return false;
  return true;
}

/** The address of "FROM:<a@b>" / "TO: a@b" (keyword included), or null. */
function address(arg: string, keyword: string): string | null {
  if (arg.slice(0, keyword.length).toUpperCase() != keyword) return null;
  let rest = arg.slice(keyword.length).trim();
  // /^<([^<>]*)>(\s.*)?$/
  if (rest.startsWith("<")) {
    let close = -1;
    for (let i = 1; i < rest.length; i++) {
      let c = rest.charCodeAt(i);
      if (c == 62) { close = i; break; }
      if (c == 60) break;
    }
    if (close > 0 && restOk(rest, close + 1)) return rest.slice(1, close);
  }
  // /^([^\s<>]+)(\s.*)?$/
  let end = 0;
  while (end < rest.length) {
    let c = rest.charCodeAt(end);
    if (isSpace(c) || c == 60 || c == 62) break;
    end++;
  }
  if (end > 0 && restOk(rest, end)) return rest.slice(0, end);
  return null;
}

function indexOfBytes(buf: Uint8Array, sep: Uint8Array, from: i32): i32 {
  for (let i = from; i + sep.length <= buf.length; i++) {
    let ok = true;
    for (let j = 0; j < sep.length; j++) if (buf[i + j] != sep[j]) { ok = false; break; }
    if (ok) return i;
  }
  return -1;
}

/** One SMTP session. Python: smtpd.SMTPChannel */
class SmtpChannel extends AsyncChat {
  private inData: bool = false;
  private lines: Array<Uint8Array> = new Array<Uint8Array>();
  private size: i32 = 0;
  private tooLong: bool = false;
  private greeted: bool = false;
  private mailFrom: string | null = null;
  private rcptTos: Array<string> = new Array<string>();

  constructor(sock: Socket) {
    super(sock);
    this.setTerminator(CRLF);
    this.reply("220 " + fqdn + " wasyncore smtp-sink");
  }

  /** Sends one reply line. */
  reply(line: string): void {
    this.pushString(line + "\r\n");
  }

  collectIncomingData(data: Uint8Array): void {
    let limit = this.inData ? DATA_SIZE_LIMIT : COMMAND_SIZE_LIMIT;
    this.size += data.length;
    if (this.size > limit) this.tooLong = true; // keep counting, drop the bytes
    else this.lines.push(data);
  }

  foundTerminator(): void {
    let body = concat(this.lines);
    let tooLong = this.tooLong;
    this.lines = new Array<Uint8Array>();
    this.size = 0;
    this.tooLong = false;
    if (this.inData) this.endData(body, tooLong);
    else if (tooLong) this.reply("500 Error: line too long");
    else this.command(latin1(body));
  }

  private command(line: string): void {
    if (line == "") { this.reply("500 Error: bad syntax"); return; }
    let sp = line.indexOf(" ");
    let verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    let arg = sp < 0 ? "" : line.slice(sp + 1).trim();
    if (verb == "HELO" || verb == "EHLO") {
      if (arg.length == 0) this.reply("501 Syntax: " + verb + " hostname");
      else if (this.greeted) this.reply("503 Duplicate HELO/EHLO");
      else { this.greeted = true; this.reset(); this.reply("250 " + fqdn); }
    } else if (verb == "MAIL") {
      let addr = address(arg, "FROM:");
      if (!this.greeted) this.reply("503 Error: send HELO first");
      else if (addr === null) this.reply("501 Syntax: MAIL FROM: <address>");
      else if (this.mailFrom !== null) this.reply("503 Error: nested MAIL command");
      else { this.mailFrom = addr; this.reply("250 OK"); }
    } else if (verb == "RCPT") {
      let addr = address(arg, "TO:");
      if (this.mailFrom === null) this.reply("503 Error: need MAIL command");
      else if (addr === null || addr == "") this.reply("501 Syntax: RCPT TO: <address>");
      else { this.rcptTos.push(addr); this.reply("250 OK"); }
    } else if (verb == "DATA") {
      if (this.rcptTos.length == 0) this.reply("503 Error: need RCPT command");
      else if (arg.length > 0) this.reply("501 Syntax: DATA");
      else {
        this.inData = true;
        this.setTerminator(END_OF_DATA);
        this.reply("354 End data with <CR><LF>.<CR><LF>");
      }
    } else if (verb == "RSET") {
      this.reset();
      this.reply(arg.length > 0 ? "501 Syntax: RSET" : "250 OK");
    } else if (verb == "NOOP") {
      this.reply(arg.length > 0 ? "501 Syntax: NOOP" : "250 OK");
    } else if (verb == "QUIT") {
      this.reply("221 Bye");
      this.closeWhenDone();
    } else {
      this.reply("500 Error: command \"" + verb + "\" not recognized");
    }
  }

  private endData(body: Uint8Array, tooLong: bool): void {
    this.inData = false;
    this.setTerminator(CRLF);
    if (tooLong) {
      this.reset();
      this.reply("552 Error: Too much mail data");
      return;
    }
    // Remove the transparency dots (RFC 5321 4.5.2) and use "\n" line ends, as smtpd does.
    let parts = new Array<Uint8Array>();
    if (body.length > 0) {
      let pos = 0;
      while (true) {
        let at = indexOfBytes(body, CRLF, pos);
        let line = body.subarray(pos, at < 0 ? body.length : at);
        if (parts.length > 0) parts.push(Uint8Array.wrap(String.UTF8.encode("\n")));
        parts.push(line.length > 0 && line[0] == 0x2e ? line.subarray(1) : line);
        if (at < 0) break;
        pos = at + CRLF.length;
      }
    }
    let data = concat(parts);
    console.log("---------- MESSAGE FOLLOWS ----------");
    console.log("X-MailFrom: " + (this.mailFrom !== null ? this.mailFrom! : ""));
    console.log("X-RcptTo: " + this.rcptTos.join(", "));
    console.log("");
    console.log(String.UTF8.decode(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)));
    console.log("------------ END MESSAGE ------------");
    this.reset();
    this.reply("250 OK");
  }

  private reset(): void {
    this.mailFrom = null;
    this.rcptTos = new Array<string>();
  }
}

/** Listens for SMTP clients. Python: smtpd.SMTPServer */
class SmtpSink extends Dispatcher {
  handleAccepted(sock: Socket): void {
    new SmtpChannel(sock);
  }
}

function main(): void {
  fqdn = argValue("--fqdn", "localhost");
  let addr = parseHostPort(argValue("--listen", "127.0.0.1:8025"));
  let sink = new SmtpSink();
  let rc = sink.createSocket();
  if (rc == 0) rc = sink.bind(addr.host, addr.port);
  if (rc == 0) rc = sink.listen(5);
  if (rc != 0) {
    console.log("smtp: cannot listen on " + addr.host + ":" + addr.port.toString() + ": " + errnoName(rc));
    sink.close();
    return;
  }
  console.log("smtp-sink listening on " + addr.host + ":" + sink.localPort().toString());
}

serve(main);
