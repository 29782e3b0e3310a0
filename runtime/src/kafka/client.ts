/**
 * How the runtime's Kafka clients connect: brokers, TLS, and SASL by KAFKA_AUTH. Secrets come from
 * the env contract (KAFKA_PASSWORD or its _FILE); the cloud modes fetch short-lived tokens with
 * the workload's own identity, again for every new connection.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { SASLOptions } from "@platformatic/kafka";
import { generateAuthToken } from "aws-msk-iam-sasl-signer-js";
import { GoogleAuth } from "google-auth-library";
import type { RuntimeConfig } from "../config";

export interface KafkaConnection {
  readonly bootstrapBrokers: string[];
  readonly tls?: TlsOptions;
  readonly sasl?: SASLOptions;
}

/** The username Event Hubs' Kafka endpoint takes with a connection string as the password. */
export const EVENT_HUBS_USERNAME = "$ConnectionString";

/** Fetches the cloud tokens; tests pass their own. */
export interface TokenSources {
  /** An MSK IAM token: a presigned kafka-cluster:Connect URL, base64url. */
  readonly awsMskIam: (region: string) => Promise<string>;
  /** A Google OAuth access token of the workload, and whose it is (a service account's e-mail). */
  readonly google: () => Promise<{ accessToken: string; principal: string }>;
}

export const CLOUD_TOKENS: TokenSources = {
  awsMskIam: async (region) => (await generateAuthToken({ region })).token,
  google: async () => {
    const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
    const client = await auth.getClient();
    const { token } = await client.getAccessToken();
    const { client_email: principal } = await auth.getCredentials();
    if (!token || !principal)
      throw new Error("the workload's Google identity gave no access token or no e-mail");
    return { accessToken: token, principal };
  },
};

const b64url = (value: string | object) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/**
 * Google Cloud Managed Service for Apache Kafka's OAUTHBEARER token: the access token wrapped as
 * the JWT-shaped value its brokers expect (what Google's GcpLoginCallbackHandler sends).
 */
export function googleKafkaToken(
  accessToken: string,
  principal: string,
  nowMs = Date.now(),
): string {
  const iat = Math.floor(nowMs / 1000);
  return [
    b64url({ typ: "JWT", alg: "GOOG_OAUTH2_TOKEN" }),
    b64url({ exp: iat + 3600, iat, iss: "Google", scope: "kafka", sub: principal }),
    b64url(accessToken),
  ].join(".");
}

function saslOf(config: RuntimeConfig, tokens: TokenSources): SASLOptions | undefined {
  const auth = config.KAFKA_AUTH;
  switch (auth) {
    case "none":
      return undefined;
    case "scram-sha-256":
    case "scram-sha-512":
    case "plain":
      return {
        mechanism:
          auth === "plain" ? "PLAIN" : auth === "scram-sha-256" ? "SCRAM-SHA-256" : "SCRAM-SHA-512",
        username: config.KAFKA_USERNAME!,
        password: config.KAFKA_PASSWORD!,
      };
    case "azure-event-hubs":
      return {
        mechanism: "PLAIN",
        username: EVENT_HUBS_USERNAME,
        password: config.KAFKA_PASSWORD!,
      };
    case "aws-msk-iam": {
      const region = config.KAFKA_AWS_REGION!;
      return { mechanism: "OAUTHBEARER", token: () => tokens.awsMskIam(region) };
    }
    case "gcp-oauth":
      return {
        mechanism: "OAUTHBEARER",
        token: async () => {
          const { accessToken, principal } = await tokens.google();
          return googleKafkaToken(accessToken, principal);
        },
      };
    default: {
      const unknown: never = auth;
      throw new Error(`unknown KAFKA_AUTH ${String(unknown)}`);
    }
  }
}

/** The connection options every client of the bus gets. */
export function kafkaConnection(
  config: RuntimeConfig,
  tokens: TokenSources = CLOUD_TOKENS,
): KafkaConnection {
  if (!config.KAFKA_BROKERS) throw new Error("KAFKA_BROKERS is not set");
  const tls: TlsOptions | undefined = config.KAFKA_TLS
    ? config.KAFKA_TLS_CA_FILE
      ? { ca: readFileSync(config.KAFKA_TLS_CA_FILE, "utf8") }
      : {}
    : undefined;
  const sasl = saslOf(config, tokens);
  return {
    bootstrapBrokers: config.KAFKA_BROKERS.split(","),
    ...(tls ? { tls } : {}),
    ...(sasl ? { sasl } : {}),
  };
}
