import { describe, expect, it } from "vitest";
import { subnetCidr, subnetPlan } from "../components/shared/cidr";
import { fargateSize } from "../components/aws/fargate-services";
import { ollamaHostScript } from "../components/shared/ollama";
import { requireCurrentValue } from "../components/aws/secret";
import { SecretNotFilledError } from "../components/shared/operator-secret";
import * as pulumi from "@pulumi/pulumi";
import { runtimeSourceTag } from "../stacks/source-hash";

describe("subnet planning", () => {
  it("carves /20s out of a /16: private from the bottom, public from the middle", () => {
    expect(subnetPlan("10.40.0.0/16", 3)).toEqual({
      privateCidrs: ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"],
      publicCidrs: ["10.40.128.0/20", "10.40.144.0/20", "10.40.160.0/20"],
    });
  });

  it("works from a host address inside the range and for small VPCs", () => {
    expect(subnetCidr("192.168.1.77/24", 28, 2)).toBe("192.168.1.32/28");
  });

  it("refuses indexes and sizes that do not fit", () => {
    expect(() => subnetCidr("10.0.0.0/16", 20, 16)).toThrow(
      "10.0.0.0/16 holds 16 /20 subnets; index 16 is out of range",
    );
    expect(() => subnetCidr("10.0.0.0/16", 12, 0)).toThrow("/12 does not fit in 10.0.0.0/16");
  });
});

describe("Fargate task sizes", () => {
  it("maps millicores to CPU units and rounds memory up to a valid value", () => {
    expect(fargateSize(1000, 2048)).toEqual({ cpu: 1024, memory: 2048 });
    expect(fargateSize(1000, 1000)).toEqual({ cpu: 1024, memory: 2048 });
    expect(fargateSize(2000, 4500)).toEqual({ cpu: 2048, memory: 5120 });
    expect(fargateSize(250, 256)).toEqual({ cpu: 256, memory: 512 });
    expect(fargateSize(8000, 20000)).toEqual({ cpu: 8192, memory: 20480 });
    expect(fargateSize(250, 3000)).toEqual({ cpu: 512, memory: 3072 });
    expect(() => fargateSize(16000, 200000)).toThrow(
      "no Fargate task size has 16000 millicores and 200000 MiB",
    );
  });
});

describe("GPU host boot script", () => {
  it("installs the pinned Ollama, listens inside the VPC and pulls each model", () => {
    const script = ollamaHostScript("0.6.5", ["llama3.1:8b", "nomic-embed-text:v1.5"]);
    expect(script).toContain("OLLAMA_VERSION=0.6.5 sh");
    expect(script).toContain('Environment="OLLAMA_HOST=0.0.0.0:11434"');
    expect(script.indexOf("ollama pull llama3.1:8b")).toBeGreaterThan(
      script.indexOf("systemctl enable --now ollama"),
    );
    expect(script).toContain("ollama pull nomic-embed-text:v1.5");
    // cloud-init gives the script no HOME; the ollama CLI refuses to start without one.
    expect(script.indexOf("export HOME=/root")).toBeGreaterThan(-1);
    expect(script.indexOf("export HOME=/root")).toBeLessThan(script.indexOf("ollama pull"));
  });
});

describe("runtime image tag", () => {
  it("is a content hash of the image's inputs", () => {
    const tag = runtimeSourceTag();
    expect(tag).toMatch(/^src-[0-9a-f]{16}$/);
    expect(runtimeSourceTag()).toBe(tag);
  });
});

describe("secrets the operator fills", () => {
  const secret = {
    name: "rag-sme-huggingface-token",
    description: "Hugging Face token",
    fillCommand:
      "aws secretsmanager put-secret-value --secret-id arn:x --secret-string file://<file holding the value>",
  };

  it("lets readers through once the secret has a current value", () => {
    expect(() =>
      requireCurrentValue(secret, [
        { versionStages: ["AWSPREVIOUS"] },
        { versionStages: ["AWSCURRENT"] },
      ]),
    ).not.toThrow();
  });

  it("stops readers of an empty secret with what it is and the command that fills it, as a RunError (no stack trace)", () => {
    for (const versions of [[], [{ versionStages: ["AWSPREVIOUS"] }], [{}]]) {
      let thrown: unknown;
      try {
        requireCurrentValue(secret, versions);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SecretNotFilledError);
      expect(pulumi.RunError.isInstance(thrown)).toBe(true);
      expect((thrown as Error).message).toBe(
        "the secret rag-sme-huggingface-token (Hugging Face token) has no value yet; fill it, then run pulumi up again: aws secretsmanager put-secret-value --secret-id arn:x --secret-string file://<file holding the value>",
      );
    }
  });
});
