/**
 * TLS to PostgreSQL as libpq reads PGSSLMODE and PGSSLROOTCERT, checked with real handshakes:
 * the options the runtime hands node-postgres (which passes them to tls.connect) against a TLS
 * server on 127.0.0.1 whose certificate a private CA signed for another name (as a managed
 * database reached by its IP presents).
 */
import { rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect, createServer, type ConnectionOptions, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { sslFor } from "../../src/db/db";
import { privateCa, type PrivateCa } from "../support";

let ca: PrivateCa;
let server: Server;
let port: number;

beforeAll(async () => {
  ca = await privateCa();
  server = createServer({ key: ca.serverKey, cert: ca.serverCert }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(ca.dir, { recursive: true, force: true });
});

/** "ok" once the handshake is accepted, or the error's code. */
function handshake(options: ConnectionOptions | false): Promise<string> {
  if (options === false) return Promise.resolve("no TLS");
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, ...options }, () => {
      socket.destroy();
      resolve("ok");
    });
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const ssl = (mode: string, root?: string) =>
  sslFor(loadRuntimeConfig({ PGSSLMODE: mode }).PGSSLMODE, root) as ConnectionOptions | false;

describe("PGSSLMODE and PGSSLROOTCERT", () => {
  it("verify-ca accepts a certificate the root signed, whatever name it bears (a server reached by its IP)", async () => {
    expect(await handshake(ssl("verify-ca", ca.caFile))).toBe("ok");
  });

  it("verify-ca refuses a certificate another CA signed", async () => {
    expect(await handshake(ssl("verify-ca", ca.otherCaFile))).toMatch(
      /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i,
    );
  });

  it("verify-full checks the name too", async () => {
    expect(await handshake(ssl("verify-full", ca.caFile))).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("verify-full without a root file trusts Node.js's roots only", async () => {
    expect(await handshake(ssl("verify-full"))).toMatch(
      /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i,
    );
  });

  it("require encrypts without checking, unless a root file is given: then it checks the chain, as libpq does", async () => {
    expect(await handshake(ssl("require"))).toBe("ok");
    expect(await handshake(ssl("require", ca.caFile))).toBe("ok");
    expect(await handshake(ssl("require", ca.otherCaFile))).toMatch(
      /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i,
    );
  });

  it("disable uses no TLS", async () => {
    expect(await handshake(ssl("disable", ca.caFile))).toBe("no TLS");
  });

  it("refuses a root file that does not exist, naming it", () => {
    expect(() =>
      loadRuntimeConfig({ PGHOST: "db", PGSSLMODE: "verify-ca", PGSSLROOTCERT: "/nowhere/ca.pem" }),
    ).toThrow('PGSSLROOTCERT: got "/nowhere/ca.pem"; no such file (a PEM file of CA certificates)');
  });
});
