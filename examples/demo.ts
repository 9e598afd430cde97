// `npm start`: an HTTP server on the engine serves a page on loopback; the seed's HTTP client
// fetches it in the same loop and prints what it got; then both end and loop() returns.
import { loop, loopStats } from "../host/index.js";
import { HttpServer } from "./http-server.js";
import { HttpClient } from "./http-client.js";

const page = "<!doctype html>\n<title>wasyncore</title>\n<h1>Hello from wasyncore</h1>\n<p>asyncore's dispatcher, on Node, with a WebAssembly core.</p>\n";

const server = new HttpServer(page);
const [host, port] = server.socket!.getsockname() as [string, number];
console.log(`server: listening on http://${host}:${port}/`);

const chunks: Buffer[] = [];
const client = new HttpClient(host, port, "/", (d) => chunks.push(d));
const close = client.handleClose.bind(client);
client.handleClose = () => {
  close();
  server.close(); // the page has been fetched: stop serving so loop() ends
};

await loop({ timeout: 5 });
const response = Buffer.concat(chunks).toString("utf8");
console.log(`client: fetched ${Buffer.byteLength(response)} bytes from http://${host}:${port}/`);
console.log("-".repeat(60));
console.log(response);
console.log("-".repeat(60));
const stats = loopStats();
console.log(`loop ended: ${stats.eventsDispatched} events dispatched, ${stats.bytesIn} bytes in, ${stats.bytesOut} bytes out, ${stats.channels} channels left`);
if (!response.startsWith("HTTP/1.0 200 OK") || !response.endsWith(page)) {
  console.error("demo: the response is not the page that was served");
  process.exit(1);
}
