/**
 * The cloud stand-in for offline synthesis: Pulumi's runtime mocks. A resource's state is its
 * inputs plus the computed outputs the program reads (ids, ARNs, endpoints), derived from the
 * resource's name so synthesis is deterministic. Data sources answer with fixed, plausible data.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001";
export const MOCK_TENANT_ID = "00000000-0000-4000-8000-000000000002";
const DEFAULT_REGION = "eu-west-1";

function digest(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

type State = Record<string, unknown>;
/** The mock's arguments with the inputs typed as what they are: untyped JSON-like state. */
type MockArgs = Omit<pulumi.runtime.MockResourceArgs, "inputs"> & { readonly inputs: State };
type Computed = (a: MockArgs, region: string) => State;

function arn(service: string, region: string, resource: string): string {
  return `arn:aws:${service}:${region}:${MOCK_ACCOUNT_ID}:${resource}`;
}

/** The physical name AWS would give: the explicit name, or the prefix plus a suffix. */
function physicalName(a: MockArgs): string {
  const i = a.inputs;
  if (typeof i.name === "string") return i.name;
  const prefix = [i.namePrefix, i.identifierPrefix, i.bucketPrefix, i.nodeGroupNamePrefix].find(
    (p): p is string => typeof p === "string",
  );
  return prefix ? `${prefix}${digest(a.name).slice(0, 8)}` : a.name;
}

/** A UUID derived from a seed (identities' client and principal ids). */
function uuidOf(seed: string): string {
  const h = digest(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The input that names an Azure resource, per type: `<type>Name` by Azure's convention, where it differs. */
const AZURE_NAME_INPUT: Record<string, string> = {
  "azure-native:storage:StorageAccount": "accountName",
  "azure-native:storage:BlobServiceProperties": "blobServicesName",
  "azure-native:storage:BlobContainer": "containerName",
  "azure-native:storage:ManagementPolicy": "managementPolicyName",
  "azure-native:keyvault:Vault": "vaultName",
  "azure-native:keyvault:Key": "keyName",
  "azure-native:keyvault:Secret": "secretName",
  "azure-native:dbforpostgresql:Server": "serverName",
  "azure-native:dbforpostgresql:Configuration": "configurationName",
  "azure-native:dbforpostgresql:Database": "databaseName",
  "azure-native:redisenterprise:RedisEnterprise": "clusterName",
  "azure-native:redisenterprise:Database": "databaseName",
  "azure-native:containerregistry:Registry": "registryName",
  "azure-native:privatedns:PrivateZone": "privateZoneName",
  "azure-native:resources:ResourceGroup": "resourceGroupName",
  "azure-native:applicationinsights:Workbook": "resourceName",
  "azure-native:app:ContainerApp": "containerAppName",
  "azure-native:app:Job": "jobName",
};

/** What ARM would name an azure-native resource, and its resource id (shaped as ARM's, not checked against it). */
function azureIdentity(a: MockArgs): { name: string; id: string } {
  const nameInput = AZURE_NAME_INPUT[a.type];
  const name =
    typeof a.inputs[nameInput ?? ""] === "string"
      ? (a.inputs[nameInput!] as string)
      : `${a.name}${digest(a.name).slice(0, 6)}`;
  if (a.type === "azure-native:resources:ResourceGroup")
    return { name, id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${name}` };
  const [, module, kind] = a.type.split(":");
  const group = typeof a.inputs.resourceGroupName === "string" ? a.inputs.resourceGroupName : "rg";
  return {
    name,
    id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${group}/providers/Microsoft.${module}/${kind!.charAt(0).toLowerCase()}${kind!.slice(1)}s/${name}`,
  };
}

export const MOCK_GCP_PROJECT_NUMBER = "987654321098";
const PEM = "-----BEGIN CERTIFICATE-----\nc3ludGgK\n-----END CERTIFICATE-----\n";
/** A certificate-shaped PEM naming what it stands for. */
const pemOf = (what: string) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(what).toString("base64")}\n-----END CERTIFICATE-----\n`;

/** What GCP would name a resource: its explicit name, or the logical name with a suffix, as Pulumi's autonaming does. */
function gcpName(a: MockArgs): string {
  return typeof a.inputs.name === "string"
    ? a.inputs.name
    : `${a.name}-${digest(a.name).slice(0, 7)}`;
}

/** GCP resource ids, shaped as the provider's, for the types whose id the program reads. */
const GCP_IDS: Record<string, (a: MockArgs, region: string) => string> = {
  "gcp:compute/network:Network": (a) =>
    `projects/${String(a.inputs.project)}/global/networks/${gcpName(a)}`,
  "gcp:compute/subnetwork:Subnetwork": (a, r) =>
    `projects/${String(a.inputs.project)}/regions/${r}/subnetworks/${gcpName(a)}`,
  "gcp:container/cluster:Cluster": (a, r) =>
    `projects/${String(a.inputs.project)}/locations/${r}/clusters/${gcpName(a)}`,
  "gcp:kms/keyRing:KeyRing": (a) =>
    `projects/${String(a.inputs.project)}/locations/${String(a.inputs.location)}/keyRings/${gcpName(a)}`,
  "gcp:kms/cryptoKey:CryptoKey": (a) => `${String(a.inputs.keyRing)}/cryptoKeys/${gcpName(a)}`,
  "gcp:secretmanager/secret:Secret": (a) =>
    `projects/${String(a.inputs.project)}/secrets/${String(a.inputs.secretId)}`,
  "gcp:redis/instance:Instance": (a, r) =>
    `projects/${String(a.inputs.project)}/locations/${r}/instances/${gcpName(a)}`,
  "gcp:monitoring/dashboard:Dashboard": (a) =>
    `projects/${MOCK_GCP_PROJECT_NUMBER}/dashboards/${digest(a.name).slice(0, 8)}`,
};

const COMPUTED: Record<string, Computed> = {
  "docker:index/remoteImage:RemoteImage": (a) => ({
    imageId: `sha256:${digest(String(a.inputs.name))}`,
  }),
  "docker:index/image:Image": (a) => ({
    repoDigest: `sha256:${digest(String(a.inputs.imageName))}`,
  }),
  "random:index/randomPassword:RandomPassword": (a) => ({
    result: digest(a.name).slice(0, Number(a.inputs.length ?? 32)),
  }),
  "random:index/randomId:RandomId": (a) => ({
    hex: digest(a.name).slice(0, 2 * Number(a.inputs.byteLength ?? 8)),
  }),
  "aws:kms/key:Key": (a, r) => {
    const keyId = a.inputs.multiRegion
      ? `mrk-${digest(a.name).slice(0, 32)}`
      : digest(a.name).slice(0, 36);
    return { keyId, arn: arn("kms", r, `key/${keyId}`) };
  },
  // A multi-region key's id starts mrk-, and its replicas share it (in their own region's ARN).
  "aws:kms/replicaKey:ReplicaKey": (a, r) => {
    const keyId = String(a.inputs.primaryKeyArn).split("/").pop()!;
    return { keyId, arn: arn("kms", r, `key/${keyId}`) };
  },
  "aws:acm/certificate:Certificate": (a) => ({
    domainValidationOptions: [
      {
        domainName: a.inputs.domainName,
        resourceRecordName: `_${digest("acm-validation").slice(0, 32)}.${String(a.inputs.domainName)}.`,
        resourceRecordType: "CNAME",
        resourceRecordValue: `_${digest(`acm ${String(a.inputs.domainName)}`).slice(0, 32)}.acm-validations.aws.`,
      },
    ],
  }),
  "aws:acm/certificateValidation:CertificateValidation": (a) => ({
    certificateArn: a.inputs.certificateArn,
  }),
  "aws:route53/record:Record": (a) => ({ fqdn: String(a.inputs.name).replace(/\.$/, "") }),
  "aws:route53/healthCheck:HealthCheck": (a) => ({ id: `hc-${digest(a.name).slice(0, 12)}` }),
  "aws:globalaccelerator/accelerator:Accelerator": (a) => ({
    dnsName: `a${digest(a.name).slice(0, 16)}.awsglobalaccelerator.com`,
    // Global Accelerator's own hosted zone, the same for every accelerator.
    hostedZoneId: "Z2BJ6XQ5FK7U4H",
    ipSets: [{ ipFamily: "IPv4", ipAddresses: ["75.2.0.10", "99.83.0.10"] }],
  }),
  "aws:rds/globalCluster:GlobalCluster": (a) => ({
    id: a.inputs.globalClusterIdentifier,
    endpoint: `${String(a.inputs.globalClusterIdentifier)}.global-${digest(a.name).slice(0, 12)}.global.rds.amazonaws.com`,
  }),
  "aws:rds/cluster:Cluster": (a, r) => ({
    clusterIdentifier: physicalName(a),
    arn: arn("rds", r, `cluster:${physicalName(a)}`),
    endpoint: `${physicalName(a)}.cluster-c0ffee.${r}.rds.amazonaws.com`,
    readerEndpoint: `${physicalName(a)}.cluster-ro-c0ffee.${r}.rds.amazonaws.com`,
    port: 5432,
    // What rds-db:connect's dbuser ARNs name: AWS's own id for the cluster.
    clusterResourceId: `cluster-${digest(a.name).slice(0, 26).toUpperCase()}`,
  }),
  "aws:rds/clusterInstance:ClusterInstance": (a) => ({ identifier: physicalName(a) }),
  // The application's stack outputs, as the rotation applications name theirs.
  "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": (a, r) => ({
    outputs: { RotationLambdaARN: arn("lambda", r, `function:${String(a.inputs.name)}`) },
  }),
  "aws:msk/configuration:Configuration": () => ({ latestRevision: 1 }),
  "aws:msk/cluster:Cluster": (a, r) => ({
    arn: arn("kafka", r, `cluster/${String(a.inputs.clusterName)}/${uuidOf(a.name)}-1`),
    bootstrapBrokersSaslIam: [1, 2, 3]
      .map((b) => `b-${b}.${String(a.inputs.clusterName)}.c0ffee.c2.kafka.${r}.amazonaws.com:9098`)
      .join(","),
  }),
  "aws:s3/bucket:Bucket": (a) => ({
    bucket: physicalName(a),
    arn: `arn:aws:s3:::${physicalName(a)}`,
  }),
  "aws:rds/instance:Instance": (a, r) => ({
    identifier: physicalName(a),
    address: `${physicalName(a)}.c0ffee.${r}.rds.amazonaws.com`,
    port: 5432,
    resourceId: `db-${digest(a.name).slice(0, 26).toUpperCase()}`,
    masterUserSecrets: [
      {
        secretArn: arn("secretsmanager", r, `secret:rds!db-${digest(a.name).slice(0, 8)}`),
        kmsKeyId: "",
        secretStatus: "active",
      },
    ],
  }),
  "aws:elasticache/replicationGroup:ReplicationGroup": (a, r) => ({
    primaryEndpointAddress: `master.${a.name}.c0ffee.${r}.cache.amazonaws.com`,
    // As AWS names a replication group's nodes: its id, then -001, -002...
    memberClusters: Array.from(
      { length: Number(a.inputs.numCacheClusters ?? 1) },
      (_, i) => `${a.name}-id-${String(i + 1).padStart(3, "0")}`,
    ),
  }),
  "aws:lb/loadBalancer:LoadBalancer": (a, r) => ({
    dnsName: `${a.name}-${digest(a.name).slice(0, 6)}.${r}.elb.amazonaws.com`,
    arnSuffix: `app/${a.name}/${digest(a.name).slice(0, 16)}`,
  }),
  "aws:lb/targetGroup:TargetGroup": (a) => ({
    arnSuffix: `targetgroup/${a.name}/${digest(a.name).slice(0, 16)}`,
  }),
  "aws:ec2/instance:Instance": () => ({ privateIp: "10.40.0.10" }),
  "aws:ecr/repository:Repository": (a, r) => ({
    repositoryUrl: `${MOCK_ACCOUNT_ID}.dkr.ecr.${r}.amazonaws.com/${physicalName(a)}`,
    registryId: MOCK_ACCOUNT_ID,
  }),
  "aws:cloudwatch/dashboard:Dashboard": (a) => ({ dashboardName: a.inputs.dashboardName }),
  "aws:eks/cluster:Cluster": (a, r) => ({
    endpoint: `https://${digest(a.name).slice(0, 32).toUpperCase()}.gr7.${r}.eks.amazonaws.com`,
    certificateAuthority: { data: Buffer.from(`synth-ca-${a.name}`).toString("base64") },
    vpcConfig: {
      ...(a.inputs.vpcConfig as State),
      clusterSecurityGroupId: `sg-${digest(a.name).slice(0, 17)}`,
    },
  }),
  "aws:ec2/launchTemplate:LaunchTemplate": () => ({ latestVersion: 1 }),
  "aws:eks/nodeGroup:NodeGroup": (a) => ({ nodeGroupName: physicalName(a) }),
  "kubernetes:helm.sh/v3:Release": (a) => ({
    status: { name: a.inputs.name, namespace: a.inputs.namespace, status: "deployed" },
  }),
  // The load balancer an ingress controller makes for an Ingress (a reserved .example name).
  "kubernetes:networking.k8s.io/v1:Ingress": (a) => ({
    status: {
      loadBalancer: { ingress: [{ hostname: `${digest(a.name).slice(0, 12)}.lb.example` }] },
    },
  }),
  "random:index/randomString:RandomString": (a) => ({
    result: digest(a.name)
      .replace(/[^a-z0-9]/g, "")
      .slice(0, Number(a.inputs.length ?? 16)),
  }),
  "tls:index/privateKey:PrivateKey": (a) => ({
    publicKeyOpenssh: `ssh-rsa AAAAB3NzaC1yc2E${digest(a.name).slice(0, 40)} synth\n`,
    privateKeyPem: "synth",
  }),
  "command:local:Command": () => ({ stdout: "synth-registry-token", stderr: "" }),
  "azure-native:keyvault:Key": (a, r) => {
    const vault = `https://${String(a.inputs.vaultName)}.vault.azure.net`;
    return {
      keyUri: `${vault}/keys/${String(a.inputs.keyName)}`,
      keyUriWithVersion: `${vault}/keys/${String(a.inputs.keyName)}/${digest(a.name).slice(0, 32)}`,
      location: r,
    };
  },
  "azure-native:keyvault:Secret": (a) => ({
    properties: {
      secretUri: `https://${String(a.inputs.vaultName)}.vault.azure.net/secrets/${String(a.inputs.secretName)}`,
    },
  }),
  "azure-native:managedidentity:UserAssignedIdentity": (a) => ({
    clientId: uuidOf(`${a.name}-client`),
    principalId: uuidOf(`${a.name}-principal`),
    tenantId: MOCK_TENANT_ID,
  }),
  "azure-native:dbforpostgresql:Server": (a) => ({
    fullyQualifiedDomainName: `${String(a.inputs.serverName)}.postgres.database.azure.com`,
  }),
  "azure-native:redisenterprise:RedisEnterprise": (a, r) => ({
    hostName: `${String(a.inputs.clusterName)}.${r}.redis.azure.net`,
  }),
  "azure-native:containerregistry:Registry": (a) => ({
    loginServer: `${String(a.inputs.registryName)}.azurecr.io`,
  }),
  "azure-native:operationalinsights:Workspace": (a) => ({
    customerId: uuidOf(`${a.name}-workspace`),
  }),
  "azure-native:app:ManagedEnvironment": (a, r) => ({
    defaultDomain: `${digest(a.name).slice(0, 12)}.${r}.azurecontainerapps.io`,
    staticIp: "10.40.1.250",
  }),
  "gcp:sql/databaseInstance:DatabaseInstance": () => ({
    privateIpAddress: "10.121.0.3",
    serverCaCerts: [{ cert: PEM, commonName: "synth-ca" }],
  }),
  "gcp:redis/instance:Instance": () => ({
    host: "10.121.1.4",
    port: 6378,
    authString: "synth-redis-auth",
    serverCaCerts: [{ cert: PEM }],
  }),
  "gcp:serviceaccount/account:Account": (a) => ({
    email: `${String(a.inputs.accountId)}@${String(a.inputs.project)}.iam.gserviceaccount.com`,
  }),
  "gcp:projects/serviceIdentity:ServiceIdentity": (a) => {
    const email = `service-${MOCK_GCP_PROJECT_NUMBER}@gcp-sa-${String(a.inputs.service).split(".")[0]}.iam.gserviceaccount.com`;
    return { email, member: `serviceAccount:${email}` };
  },
  "gcp:cloudrunv2/service:Service": (a) => ({
    uri: `https://${gcpName(a)}-${digest(a.name).slice(0, 10)}-ew.a.run.app`,
  }),
  "gcp:compute/instance:Instance": (a) => ({
    instanceId: String(BigInt(`0x${digest(a.name).slice(0, 12)}`)),
  }),
  "gcp:compute/globalAddress:GlobalAddress": () => ({ address: "34.120.0.10" }),
  // An internal address of a subnet (the internal Gateway's), as GCP allocates one.
  "gcp:compute/address:Address": (a) => ({
    address: typeof a.inputs.address === "string" ? a.inputs.address : "10.60.0.50",
  }),
  "gcp:container/cluster:Cluster": (a, r) => {
    const privateEndpoint = (a.inputs.privateClusterConfig as State | undefined)
      ?.enablePrivateEndpoint;
    return {
      endpoint: privateEndpoint ? "10.60.0.2" : "34.76.0.20",
      masterAuth: {
        ...(a.inputs.masterAuth as State),
        clusterCaCertificate: Buffer.from(`synth-ca-${a.name}`).toString("base64"),
      },
      selfLink: `https://container.googleapis.com/v1/projects/${String(a.inputs.project)}/locations/${r}/clusters/${gcpName(a)}`,
    };
  },
  "tls:index/selfSignedCert:SelfSignedCert": (a) => ({ certPem: pemOf(`ca ${a.name}`) }),
  "tls:index/certRequest:CertRequest": (a) => ({ certRequestPem: pemOf(`request ${a.name}`) }),
  "tls:index/locallySignedCert:LocallySignedCert": (a) => ({
    certPem: pemOf(`certificate ${a.name}`),
  }),
  "azure-native:containerservice:ManagedCluster": (a, r) => {
    const host = `${String(a.inputs.dnsPrefix)}-${digest(a.name).slice(0, 8)}.hcp.${r}.azmk8s.io`;
    const profile = (a.inputs.apiServerAccessProfile ?? {}) as State;
    return {
      oidcIssuerProfile: {
        enabled: true,
        issuerURL: `https://${r}.oic.prod-aks.azure.com/${MOCK_TENANT_ID}/${uuidOf(a.name)}/`,
      },
      ...(profile.enablePrivateCluster
        ? { privateFQDN: host.replace(".hcp.", ".privatelink.") }
        : { fqdn: host }),
    };
  },
  "azure-native:app:ContainerApp": (a, r) => {
    const configuration = (a.inputs.configuration ?? {}) as State;
    const ingress = configuration.ingress as State | undefined;
    return {
      configuration: ingress
        ? {
            ...configuration,
            ingress: {
              ...ingress,
              fqdn: `${a.name}.${digest("env").slice(0, 12)}.${r}.azurecontainerapps.io`,
            },
          }
        : configuration,
    };
  },
};

const SERVICE_OF = (type: string) => type.split(":")[1]?.split("/")[0] ?? "mock";

/** Stands in for a region's Elastic Load Balancing account. */
export const MOCK_ELB_ACCOUNT_ID = "999999999999";
/** Regions opened since August 2022, where load balancers deliver logs as a service principal. */
const ELB_SERVICE_PRINCIPAL_ONLY_REGIONS = [
  "ap-south-2",
  "ap-southeast-4",
  "ap-southeast-5",
  "ca-west-1",
  "eu-central-2",
  "eu-south-2",
  "il-central-1",
  "me-central-1",
  "mx-central-1",
];

/** Calls (data sources) the program makes, answered for the region of the provider used. */
function callResult(
  token: string,
  region: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> | undefined {
  switch (token) {
    case "aws:secretsmanager/getSecretVersions:getSecretVersions":
      // The secrets the operator fills, as they are once filled.
      return {
        arn: inputs.secretId,
        secretArn: inputs.secretId,
        id: inputs.secretId,
        versions: [
          {
            versionId: "synth-version",
            versionStages: ["AWSCURRENT"],
            createdTime: "2026-01-01T00:00:00Z",
            lastAccessedDate: "",
          },
        ],
      };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: MOCK_ACCOUNT_ID,
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/synth`,
        userId: "SYNTH",
        id: MOCK_ACCOUNT_ID,
      };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        names: ["a", "b", "c"].map((z) => `${region}${z}`),
        zoneIds: ["az1", "az2", "az3"],
        id: region,
      };
    case "aws:lb/getLoadBalancer:getLoadBalancer": {
      const name = String(inputs.name);
      return {
        arn: arn(
          "elasticloadbalancing",
          region,
          `loadbalancer/app/${name}/${digest(name).slice(0, 16)}`,
        ),
        name,
        id: name,
      };
    }
    case "aws:ec2/getVpc:getVpc":
      return { cidrBlock: "10.99.0.0/16" };
    case "aws:ssm/getParameter:getParameter":
      return { value: "ami-0123456789abcdef0", type: "String" };
    case "aws:elb/getServiceAccount:getServiceAccount": {
      // As the provider: an account for the regions opened before August 2022, an error for the others.
      if (ELB_SERVICE_PRINCIPAL_ONLY_REGIONS.includes(region))
        throw new Error(`unsupported AWS Region: ${region}`);
      return { id: MOCK_ELB_ACCOUNT_ID, arn: `arn:aws:iam::${MOCK_ELB_ACCOUNT_ID}:root` };
    }
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        userName: "AWS",
        password: "synth-token",
        proxyEndpoint: `https://${MOCK_ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com`,
      };
    case "gcp:organizations/getProject:getProject":
      return {
        projectId: inputs.projectId,
        number: MOCK_GCP_PROJECT_NUMBER,
        name: inputs.projectId,
        id: `projects/${String(inputs.projectId)}`,
      };
    case "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
      return {
        emailAddress: `service-${MOCK_GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`,
        id: "gs",
      };
    case "gcp:compute/getZones:getZones":
      // As europe-west1's: zones b, c and d.
      return {
        names: ["b", "c", "d"].map((z) => `${region}-${z}`),
        project: inputs.project,
        region,
        id: `projects/${String(inputs.project)}/regions/${region}`,
      };
    case "gcp:secretmanager/getSecretVersion:getSecretVersion":
      // The secrets the operator fills, as they are once filled.
      return {
        name: `projects/${String(inputs.project)}/secrets/${String(inputs.secret)}/versions/1`,
        version: "1",
        enabled: true,
        id: "v1",
      };
    case "azure-native:authorization:getClientConfig":
      return {
        clientId: uuidOf("synth-client"),
        objectId: uuidOf("synth-deployer"),
        subscriptionId: MOCK_SUBSCRIPTION_ID,
        tenantId: MOCK_TENANT_ID,
      };
    case "azure-native:keyvault:getSecret":
      // The secrets the operator fills, as they are once filled.
      return {
        id: `${String(inputs.vaultName)}/${String(inputs.secretName)}`,
        name: inputs.secretName,
        properties: {
          secretUri: `https://${String(inputs.vaultName)}.vault.azure.net/secrets/${String(inputs.secretName)}`,
        },
      };
    case "azure-native:containerservice:listManagedClusterUserCredentials": {
      // As AKS answers for a cluster with Entra ID: an exec kubeconfig for kubelogin, base64.
      const server = `https://${String(inputs.resourceName)}.hcp.${region}.azmk8s.io:443`;
      const kubeconfig = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- cluster: {certificate-authority-data: ${Buffer.from("synth-ca").toString("base64")}, server: "${server}"}`,
        `  name: ${String(inputs.resourceName)}`,
        "contexts:",
        `- context: {cluster: ${String(inputs.resourceName)}, user: clusterUser}`,
        `  name: ${String(inputs.resourceName)}`,
        `current-context: ${String(inputs.resourceName)}`,
        "users:",
        "- name: clusterUser",
        "  user:",
        "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]}",
      ].join("\n");
      return {
        kubeconfigs: [{ name: "clusterUser", value: Buffer.from(kubeconfig).toString("base64") }],
      };
    }
    case "azure-native:redisenterprise:listDatabaseKeys":
      return { primaryKey: "synth-redis-primary-key", secondaryKey: "synth-redis-secondary-key" };
    default:
      return undefined;
  }
}

/** Mocks that know each explicit provider's region (so ARNs and zones match the stack). */
export class SynthMocks implements pulumi.runtime.Mocks {
  private readonly providerRegions = new Map<string, string>();
  /** Every data source the program called, with its inputs, in order. */
  readonly calls: { token: string; inputs: Record<string, unknown> }[] = [];

  private regionOf(providerRef: string | undefined): string {
    return (
      (providerRef &&
        this.providerRegions.get(providerRef.slice(0, providerRef.lastIndexOf("::")))) ||
      DEFAULT_REGION
    );
  }

  newResource(mockArgs: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const args: MockArgs = { ...mockArgs, inputs: mockArgs.inputs as State };
    const id = `${args.name}-id`;
    if (args.type.startsWith("pulumi:providers:")) {
      return { id, state: args.inputs };
    }
    // An AWS resource may name a region of its own (the provider's otherwise).
    const own = args.type.startsWith("aws:") ? args.inputs.region : undefined;
    const region = typeof own === "string" ? own : this.regionOf(args.provider);
    if (args.type.startsWith("gcp:")) {
      const gcpId = GCP_IDS[args.type]?.(args, region) ?? id;
      return {
        id: gcpId,
        state: {
          name: gcpName(args),
          ...args.inputs,
          id: gcpId,
          ...(COMPUTED[args.type]?.(args, region) ?? {}),
        },
      };
    }
    if (args.type.startsWith("azure-native:")) {
      const azure = azureIdentity(args);
      return {
        id: azure.id,
        state: { name: azure.name, ...args.inputs, ...(COMPUTED[args.type]?.(args, region) ?? {}) },
      };
    }
    const base: State = args.type.startsWith("aws:")
      ? { arn: arn(SERVICE_OF(args.type), region, `${args.name}`), name: physicalName(args) }
      : {};
    return {
      id,
      state: { ...base, ...args.inputs, ...(COMPUTED[args.type]?.(args, region) ?? {}) },
    };
  }

  /** The harness tells the mocks each provider's URN and region as it is registered. */
  noteProvider(urn: string, inputs: Record<string, unknown>): void {
    // An AWS provider's region; an Azure provider's location.
    const region = inputs.region ?? inputs.location;
    if (typeof region === "string") this.providerRegions.set(urn, region);
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    const inputs = args.inputs as Record<string, unknown>;
    this.calls.push({ token: args.token, inputs });
    const result = callResult(args.token, this.regionOf(args.provider), inputs);
    if (!result)
      throw new Error(
        `synthesis has no mock for the data source ${args.token}; add one in tools/mocks.ts`,
      );
    return result;
  }
}
