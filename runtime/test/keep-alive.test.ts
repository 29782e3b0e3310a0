/**
 * HTTP_KEEP_ALIVE_SECONDS: how long the API keeps an idle client connection. Behind a load
 * balancer it must outlast the balancer's idle timeout (the tiers set it so), or the balancer
 * may send a request down a connection the API is closing and answer the client 502.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Runtime, startRuntime } from "./support";

describe("idle client connections", () => {
  let rt: Runtime | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
  });

  /** A keep-alive connection that has made one request; `closed` settles when the server closes it. */
  async function idleConnection(): Promise<{ socket: Socket; closed: Promise<void> }> {
    const address = await rt!.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = new URL(address);
    const socket = connect(Number(port), "127.0.0.1");
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    const answered = new Promise<string>((r) => socket.once("data", (d) => r(d.toString())));
    socket.write("GET /healthz HTTP/1.1\r\nHost: api\r\nConnection: keep-alive\r\n\r\n");
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    return { socket, closed };
  }

  const within = (ms: number, p: Promise<void>) => Promise.race([p.then(() => "closed"), new Promise((r) => setTimeout(() => r("open"), ms))]);

  it("closes one left idle for HTTP_KEEP_ALIVE_SECONDS", async () => {
    rt = await startRuntime("embedded", { HTTP_KEEP_ALIVE_SECONDS: "1" }, { worker: false });
    const { closed } = await idleConnection();
    expect(await within(3000, closed)).toBe("closed");
  });

  it("keeps it open longer by default (72 s, Fastify's)", async () => {
    rt = await startRuntime("embedded", {}, { worker: false });
    const { socket, closed } = await idleConnection();
    expect(await within(3000, closed)).toBe("open");
    socket.destroy();
  });
});
