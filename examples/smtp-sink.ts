// A minimal SMTP receiver on AsyncChat, in the spirit of Python's smtpd.DebuggingServer: it
// accepts mail for anyone and prints each message. Every reply is one line.
// Usage: node build/examples/smtp-sink.js [port]   (prints the port it listens on)
import { hostname } from "node:os";
import { pathToFileURL } from "node:url";
import { AsyncChat, Dispatcher, loop, AF_INET, SOCK_STREAM, type Socket, type ChannelMap, type Address } from "../host/index.js";

const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from("\r\n.\r\n");
const COMMAND_SIZE_LIMIT = 512; // RFC 5321 4.5.3.1.4, as smtpd
const DATA_SIZE_LIMIT = 32 * 1024 * 1024;

/** One message as the sink received it; `data` has "\n" line ends and dots unstuffed. */
export interface Message {
  peer: Address;
  mailFrom: string;
  rcptTos: string[];
  data: Buffer;
}

/** One SMTP session. Python: smtpd.SMTPChannel */
export class SmtpChannel extends AsyncChat {
  private state: "command" | "data" = "command";
  private lines: Buffer[] = [];
  private size = 0;
  private tooLong = false;
  private greeted = false;
  private mailFrom: string | null = null;
  private rcptTos: string[] = [];

  constructor(private readonly server: SmtpSink, sock: Socket, private readonly peer: Address, map?: ChannelMap) {
    super(sock, map);
    this.setTerminator(CRLF);
    this.reply(`220 ${server.fqdn} wasyncore smtp-sink`);
  }

  /** Sends one reply line. */
  reply(line: string): void {
    this.push(Buffer.from(line + "\r\n", "utf8"));
  }

  override collectIncomingData(data: Buffer): void {
    const limit = this.state === "command" ? COMMAND_SIZE_LIMIT : DATA_SIZE_LIMIT;
    this.size += data.length;
    if (this.size > limit) this.tooLong = true; // keep counting, drop the bytes
    else this.lines.push(data);
  }

  override foundTerminator(): void {
    const body = Buffer.concat(this.lines);
    const tooLong = this.tooLong;
    this.lines = [];
    this.size = 0;
    this.tooLong = false;
    if (this.state === "data") {
      this.endData(body, tooLong);
    } else if (tooLong) {
      this.reply("500 Error: line too long");
    } else {
      this.command(body.toString("latin1"));
    }
  }

  private command(line: string): void {
    if (line === "") { this.reply("500 Error: bad syntax"); return; }
    const sp = line.indexOf(" ");
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? "" : line.slice(sp + 1).trim();
    switch (verb) {
      case "HELO":
      case "EHLO":
        if (!arg) this.reply(`501 Syntax: ${verb} hostname`);
        else if (this.greeted) this.reply("503 Duplicate HELO/EHLO");
        else { this.greeted = true; this.reset(); this.reply(`250 ${this.server.fqdn}`); }
        return;
      case "MAIL": {
        const addr = address(arg, "FROM:");
        if (!this.greeted) this.reply("503 Error: send HELO first");
        else if (addr === null) this.reply("501 Syntax: MAIL FROM: <address>");
        else if (this.mailFrom !== null) this.reply("503 Error: nested MAIL command");
        else { this.mailFrom = addr; this.reply("250 OK"); }
        return;
      }
      case "RCPT": {
        const addr = address(arg, "TO:");
        if (this.mailFrom === null) this.reply("503 Error: need MAIL command");
        else if (addr === null || addr === "") this.reply("501 Syntax: RCPT TO: <address>");
        else { this.rcptTos.push(addr); this.reply("250 OK"); }
        return;
      }
      case "DATA":
        if (this.rcptTos.length === 0) this.reply("503 Error: need RCPT command");
        else if (arg) this.reply("501 Syntax: DATA");
        else {
          this.state = "data";
          this.setTerminator(END_OF_DATA);
          this.reply("354 End data with <CR><LF>.<CR><LF>");
        }
        return;
      case "RSET":
        this.reset();
        this.reply(arg ? "501 Syntax: RSET" : "250 OK");
        return;
      case "NOOP":
        this.reply(arg ? "501 Syntax: NOOP" : "250 OK");
        return;
      case "QUIT":
        this.reply("221 Bye");
        this.closeWhenDone();
        return;
      default:
        this.reply(`500 Error: command "${verb}" not recognized`);
    }
  }

  private endData(body: Buffer, tooLong: boolean): void {
    this.state = "command";
    this.setTerminator(CRLF);
    if (tooLong) {
      this.reset();
      this.reply("552 Error: Too much mail data");
      return;
    }
    // Remove the transparency dots (RFC 5321 4.5.2) and use "\n" line ends, as smtpd does.
    const lines = body.length === 0 ? [] : split(body, CRLF).map((l) => (l[0] === 0x2e ? l.subarray(1) : l));
    const data = Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from("\n"), l])));
    const msg: Message = { peer: this.peer, mailFrom: this.mailFrom ?? "", rcptTos: this.rcptTos, data };
    this.reset();
    this.reply(this.server.processMessage(msg) ?? "250 OK");
  }

  private reset(): void {
    this.mailFrom = null;
    this.rcptTos = [];
  }
}

function address(arg: string, keyword: string): string | null {
  if (arg.slice(0, keyword.length).toUpperCase() !== keyword) return null;
  const rest = arg.slice(keyword.length).trim();
  const m = /^<([^<>]*)>(\s.*)?$/.exec(rest) ?? /^([^\s<>]+)(\s.*)?$/.exec(rest);
  return m ? m[1] : null;
}

function split(buf: Buffer, sep: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (let at = buf.indexOf(sep); at >= 0; at = buf.indexOf(sep, pos)) {
    out.push(buf.subarray(pos, at));
    pos = at + sep.length;
  }
  out.push(buf.subarray(pos));
  return out;
}

/** Listens for SMTP clients; override processMessage to keep messages. Python: smtpd.SMTPServer */
export class SmtpSink extends Dispatcher {
  /** The name in the greeting and the HELO reply. */
  fqdn = hostname();

  constructor(host: string, port: number, map?: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(5);
  }

  /** The port the sink listens on. */
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    new SmtpChannel(this, sock, addr, this._map);
  }

  /**
   * Called with each message; return a reply line to send instead of "250 OK".
   * The default prints it like smtpd.DebuggingServer. Python: SMTPServer.process_message
   */
  processMessage(msg: Message): string | void {
    const peer = Array.isArray(msg.peer) ? msg.peer[0] : msg.peer;
    console.log("---------- MESSAGE FOLLOWS ----------");
    console.log(`X-Peer: ${peer}`);
    console.log(`X-MailFrom: ${msg.mailFrom}`);
    console.log(`X-RcptTo: ${msg.rcptTos.join(", ")}`);
    console.log("");
    console.log(msg.data.toString("utf8"));
    console.log("------------ END MESSAGE ------------");
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sink = new SmtpSink("127.0.0.1", Number(process.argv[2] ?? 0));
  console.log(`smtp-sink listening on 127.0.0.1:${sink.port}`);
  await loop();
}
