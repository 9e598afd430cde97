// A line-based chat room on AsyncChat: every line a member sends goes to all the others.
// Usage: node build/examples/chat-server.js [port]   (prints the port it listens on)
// Try it with two terminals running `nc 127.0.0.1 PORT`.
import { pathToFileURL } from "node:url";
import { AsyncChat, Dispatcher, loop, AF_INET, SOCK_STREAM, type Socket, type ChannelMap, type Address } from "../host/index.js";

const MAX_LINE = 4096;

/** One member of the room; its name is its address. */
export class ChatMember extends AsyncChat {
  readonly name: string;
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly room: ChatRoom, sock: Socket, addr: Address, map?: ChannelMap) {
    super(sock, map);
    this.name = Array.isArray(addr) ? `${addr[0]}:${addr[1]}` : addr || "unix";
    this.setTerminator("\n");
  }

  override collectIncomingData(data: Buffer): void {
    if (this.size < MAX_LINE) this.parts.push(data); // a line longer than MAX_LINE is cut
    this.size += data.length;
  }

  override foundTerminator(): void {
    let line = Buffer.concat(this.parts).subarray(0, MAX_LINE).toString("utf8");
    this.parts = [];
    this.size = 0;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "/quit") {
      this.push(Buffer.from("* bye\n"));
      this.closeWhenDone();
      return;
    }
    this.room.broadcast(this, `${this.name}: ${line}\n`);
  }

  override handleClose(): void {
    this.close();
    this.room.leave(this);
  }
}

/** Accepts members and relays their lines. */
export class ChatRoom extends Dispatcher {
  readonly members = new Set<ChatMember>();

  constructor(host: string, port: number, map?: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(16);
  }

  /** The port the room listens on. */
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    const member = new ChatMember(this, sock, addr, this._map);
    member.push(Buffer.from(`* welcome, ${member.name} (${this.members.size} others here)\n`));
    this.broadcast(member, `* ${member.name} joined\n`);
    this.members.add(member);
  }

  /** Sends `text` to every member except `from`. */
  broadcast(from: ChatMember | null, text: string): void {
    const data = Buffer.from(text, "utf8");
    for (const m of this.members) if (m !== from && m.connected) m.push(data);
  }

  /** Forgets a member that left. */
  leave(member: ChatMember): void {
    if (this.members.delete(member)) this.broadcast(member, `* ${member.name} left\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const room = new ChatRoom("127.0.0.1", Number(process.argv[2] ?? 0));
  console.log(`chat room on 127.0.0.1:${room.port}`);
  await loop();
}
