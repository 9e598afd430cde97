// The package as a user installs it (test/examples/packed.ts): the tarball in an empty project, a JS dispatcher run.
import { it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { installPacked } from "./packed.js";

it("installs from its npm pack tarball and runs an echo round trip from the package root export", () => {
  const app = installPacked("app");
  try {
    writeFileSync(join(app, "main.mjs"), `
      import { Dispatcher, DispatcherWithSend, loop, AF_INET } from "wasyncore";
      class Echo extends DispatcherWithSend { handleRead() { const d = this.recv(4096); if (d.length) this.send(d); } handleClose() { this.close(); } }
      class Server extends Dispatcher {
        constructor() { super(); this.createSocket(AF_INET); this.bind(["127.0.0.1", 0]); this.listen(5); }
        handleAccepted(sock) { new Echo(sock); }
      }
      class Client extends Dispatcher {
        constructor(addr) { super(); this.out = Buffer.from("ping from the tarball"); this.got = ""; this.createSocket(AF_INET); this.connect(addr); }
        handleConnect() {}
        writable() { return this.out.length > 0; }
        handleWrite() { this.out = this.out.subarray(this.send(this.out)); }
        handleRead() { this.got += this.recv(4096); if (this.got.length >= 21) { console.log(this.got); this.close(); server.close(); } }
        handleClose() { this.close(); }
      }
      const server = new Server();
      new Client(server.socket.getsockname());
      await loop({ timeout: 5 });
      process.exit(0);
    `);
    const types = execFileSync("node", ["-e", "console.log(require.resolve('wasyncore/package.json'))"], { cwd: app }).toString();
    expect(types).toMatch(/node_modules\/wasyncore\/package.json/);
    const out = execFileSync("node", ["main.mjs"], { cwd: app, timeout: 20_000 }).toString();
    expect(out.trim()).toBe("ping from the tarball");
    const files = execFileSync("ls", [join(app, "node_modules/wasyncore/build/host")]).toString();
    expect(files).toMatch(/index\.d\.ts/);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}, 120_000);
