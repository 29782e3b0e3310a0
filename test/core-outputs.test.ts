import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { apiEndpointAt } from "../components/shared/runtime-image";
import { backupCommands } from "../stacks/tiers/core";

const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((done) => o.apply(done));
const PENDING = "(pending: the ingress controller is creating the load balancer)";

describe("outputs before the load balancer has an address", () => {
  it("the backup commands read the API's URL from the stack once it exists", async () => {
    const key = { kind: "generated" as const, value: pulumi.output("k") };
    const pending = await resolve(backupCommands(PENDING, key));
    expect(pending.export).toMatch(/^RAG_API_URL="\$\(pulumi stack output apiUrl\)" /);
    const known = await resolve(backupCommands("http://lb.example", key));
    expect(known.export).toMatch(/^RAG_API_URL=http:\/\/lb\.example RAG_API_KEY=/);
  });

  it("the health check is on the region's own address, and stays a note while pending", async () => {
    const api = apiEndpointAt("https://rag.example.com", "https://eu.lb.example");
    expect(await resolve(api.url)).toBe("https://rag.example.com");
    expect(await resolve(api.healthCheckUrl)).toBe("https://eu.lb.example/readyz?check=database");
    expect(await resolve(apiEndpointAt(PENDING).healthCheckUrl)).toBe(PENDING);
  });
});
