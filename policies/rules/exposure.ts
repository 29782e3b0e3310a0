/** Exposure: nothing public but a load balancer's HTTPS port; private data stores and APIs. */
import {
  AKS_AGENT_POOL,
  AKS_CLUSTER,
  aksNodePools,
  describeValue,
  get,
  isFalse,
  isObject,
  isTrue,
  list,
  referenced,
  records,
  referencing,
  SECRET_PLACEHOLDER,
  shown,
  strings,
  text,
  unreadableEntries,
} from "./helpers";
import { eachObject, isInternalLoadBalancer, kubernetesTypes } from "./kubernetes";
import type { ResourceView, Rule, RuleContext } from "./types";

const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const LB = "aws:lb/loadBalancer:LoadBalancer";
const BUCKET = "aws:s3/bucket:Bucket";
const PUBLIC_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls";
const VPC = "aws:ec2/vpc:Vpc";
const DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
const WORLD = ["0.0.0.0/0", "::/0"];
const NSG = "azure-native:network:NetworkSecurityGroup";
const NSG_RULE = "azure-native:network:SecurityRule";
/** How an Azure security rule names every address on the internet. */
const AZURE_WORLD = ["*", "Internet", "Any", "0.0.0.0/0", "0.0.0.0", "::/0"];

function fromWorld(rule: Record<string, unknown>): boolean {
  return [rule.sourceAddressPrefix, ...list(rule.sourceAddressPrefixes)].some((p) =>
    AZURE_WORLD.includes(String(p)),
  );
}

function portsOf(rule: Record<string, unknown>): string[] {
  return [rule.destinationPortRange, ...list(rule.destinationPortRanges)]
    .filter((p) => p !== undefined)
    .map(String);
}

function httpsOnly(rule: Record<string, unknown>): boolean {
  const ports = portsOf(rule);
  return ports.length > 0 && ports.every((p) => p === "443");
}

const SERVICES = kubernetesTypes("Service", ["core/v1"]);
const NAMESPACE = "kubernetes:core/v1:Namespace";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

/** A NetworkPolicy selecting every pod of its namespace and allowing nothing in or out. */
function deniesAll(p: ResourceView): boolean {
  const spec = get(p.props, "spec");
  const selector = get(spec, "podSelector");
  const empty = (v: unknown) =>
    v === undefined || (typeof v === "object" && v !== null && Object.keys(v).length === 0);
  const selectsAll =
    typeof selector === "object" &&
    selector !== null &&
    Object.values(selector as Record<string, unknown>).every(empty);
  const types = list(get(spec, "policyTypes"));
  return (
    selectsAll &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    list(get(spec, "ingress")).length === 0 &&
    list(get(spec, "egress")).length === 0
  );
}

/** Is this security group attached to an internet-facing load balancer? */
function fronts(sg: ResourceView, ctx: RuleContext): boolean {
  return referencing(ctx, LB, "securityGroups", sg).some((lb) => !isTrue(lb.props.internal));
}

function worldIngress(
  fromPort: unknown,
  toPort: unknown,
  owner: ResourceView[],
  ctx: RuleContext,
): string[] {
  const httpsOnly = fromPort === 443 && toPort === 443;
  if (httpsOnly && owner.some((sg) => fronts(sg, ctx))) return [];
  return [
    `ingress from anywhere on ports ${String(fromPort)}-${String(toPort)}${httpsOnly ? " on a group that fronts no internet-facing load balancer" : ""}`,
  ];
}

export const exposureRules: Rule[] = [
  {
    name: "aws-no-world-ingress",
    area: "exposure",
    description:
      "No security group admits 0.0.0.0/0 or ::/0, except an internet-facing load balancer's group on 443.",
    severity: "critical",
    remediation:
      "Restrict the source to a security group or a known CIDR; only the public ALB's 443 may be open to the internet.",
    tfsec: "aws-ec2-no-public-ingress-sgr",
    resourceTypes: [INGRESS_RULE, SECURITY_GROUP, LB],
    check: (r, ctx) => {
      if (r.type === INGRESS_RULE) {
        if (!WORLD.includes(String(r.props.cidrIpv4)) && !WORLD.includes(String(r.props.cidrIpv6)))
          return [];
        return worldIngress(
          r.props.fromPort,
          r.props.toPort,
          referenced(ctx, r, "securityGroupId"),
          ctx,
        );
      }
      if (r.type === SECURITY_GROUP) {
        return list(r.props.ingress)
          .filter(
            (rule) =>
              list(get(rule, "cidrBlocks")).some((c) => WORLD.includes(String(c))) ||
              list(get(rule, "ipv6CidrBlocks")).some((c) => WORLD.includes(String(c))),
          )
          .flatMap((rule) => worldIngress(get(rule, "fromPort"), get(rule, "toPort"), [r], ctx));
      }
      return [];
    },
  },
  {
    name: "aws-rds-not-public",
    area: "exposure",
    description: "RDS instances are not publicly accessible.",
    severity: "critical",
    remediation: "Set publiclyAccessible: false and keep the instance in private subnets.",
    checkov: "CKV_AWS_17",
    tfsec: "aws-rds-no-public-db-access",
    resourceTypes: ["aws:rds/instance:Instance"],
    check: (r) => (isFalse(r.props.publiclyAccessible) ? [] : ["publiclyAccessible is not false"]),
  },
  {
    name: "aws-s3-public-access-blocked",
    area: "exposure",
    description:
      "Every S3 bucket blocks all public access (the four settings of BucketPublicAccessBlock).",
    severity: "critical",
    remediation:
      "Add an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true.",
    checkov: "CKV_AWS_53",
    tfsec: "aws-s3-block-public-acls",
    resourceTypes: [BUCKET, PUBLIC_BLOCK],
    check: (r, ctx) => {
      if (r.type !== BUCKET) return [];
      const blocks = referencing(ctx, PUBLIC_BLOCK, "bucket", r);
      const settings = [
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
      ];
      if (blocks.length === 0) return ["no public access block applies to this bucket"];
      return settings
        .filter((s) => !blocks.some((b) => isTrue(b.props[s])))
        .map((s) => `${s} is not true`);
    },
  },
  {
    name: "aws-s3-acls-disabled",
    area: "exposure",
    description:
      "Every S3 bucket keeps ACLs disabled (object ownership BucketOwnerEnforced, set by the stack rather than left to the account's default): access is decided by policies alone.",
    severity: "medium",
    remediation:
      'Add an aws.s3.BucketOwnershipControls with rule.objectOwnership "BucketOwnerEnforced".',
    checkov: "CKV2_AWS_65",
    resourceTypes: [BUCKET, OWNERSHIP],
    check: (r, ctx) => {
      if (r.type !== BUCKET) return [];
      return referencing(ctx, OWNERSHIP, "bucket", r).some(
        (o) => get(o.props, "rule.objectOwnership") === "BucketOwnerEnforced",
      )
        ? []
        : [
            "the stack does not set object ownership to BucketOwnerEnforced, so nothing keeps ACLs disabled",
          ];
    },
  },
  {
    name: "aws-eks-private-endpoint",
    area: "exposure",
    description:
      "The EKS API endpoint is private, or public only to listed CIDRs (never 0.0.0.0/0).",
    severity: "high",
    remediation: "Set endpointPublicAccess: false, or publicAccessCidrs to your office/VPN ranges.",
    checkov: "CKV_AWS_39",
    tfsec: "aws-eks-no-public-cluster-access",
    resourceTypes: ["aws:eks/cluster:Cluster"],
    check: (r) => {
      const vpc = r.props.vpcConfig;
      if (isFalse(get(vpc, "endpointPublicAccess"))) return [];
      const cidrs = list(get(vpc, "publicAccessCidrs"));
      if (cidrs.length === 0 || cidrs.some((c) => WORLD.includes(String(c))))
        return ["the API endpoint is public to the whole internet"];
      return [];
    },
  },
  {
    name: "aws-ec2-no-public-ip",
    area: "exposure",
    description:
      "Instances (the GPU host) get no public IP and no SSH key pair: access is through SSM.",
    severity: "high",
    remediation: "Set associatePublicIpAddress: false, drop keyName and use SSM Session Manager.",
    checkov: "CKV_AWS_88",
    tfsec: "aws-ec2-no-public-ip",
    resourceTypes: ["aws:ec2/instance:Instance"],
    check: (r) => [
      ...(isFalse(r.props.associatePublicIpAddress)
        ? []
        : ["associatePublicIpAddress is not false"]),
      ...(text(r.props.keyName) ? ["an SSH key pair is attached"] : []),
    ],
  },
  {
    name: "aws-ecs-no-public-ip",
    area: "exposure",
    description:
      "ECS services give their tasks no public IP: they run in private subnets and leave through NAT.",
    severity: "high",
    remediation:
      "Set networkConfiguration.assignPublicIp: false and place the service in private subnets.",
    checkov: "CKV_AWS_333",
    resourceTypes: ["aws:ecs/service:Service"],
    check: (r) =>
      isTrue(get(r.props, "networkConfiguration.assignPublicIp"))
        ? ["tasks get a public IP (assignPublicIp)"]
        : [],
  },
  {
    name: "aws-subnet-no-auto-public-ip",
    area: "exposure",
    description:
      "No subnet gives what starts in it a public IP by default; a resource that needs one asks for it.",
    severity: "medium",
    remediation: "Set mapPublicIpOnLaunch: false.",
    checkov: "CKV_AWS_130",
    tfsec: "aws-ec2-no-public-ip-subnet",
    resourceTypes: ["aws:ec2/subnet:Subnet"],
    check: (r) =>
      isTrue(r.props.mapPublicIpOnLaunch)
        ? ["mapPublicIpOnLaunch gives every instance launched here a public IP"]
        : [],
  },
  {
    name: "aws-eks-nodes-no-ssh",
    area: "exposure",
    description:
      "EKS node groups (the GPU pool among them) have no SSH access: nodes are reached through SSM, pods through the Kubernetes API.",
    severity: "high",
    remediation: "Drop remoteAccess (ec2SshKey) from the node group; use SSM Session Manager.",
    checkov: "CKV_AWS_100",
    resourceTypes: ["aws:eks/nodeGroup:NodeGroup"],
    check: (r) =>
      text(get(r.props, "remoteAccess.ec2SshKey"))
        ? [`SSH key pair ${String(get(r.props, "remoteAccess.ec2SshKey"))} opens SSH to the nodes`]
        : [],
  },
  {
    name: "aws-default-sg-closed",
    area: "exposure",
    description:
      "Every VPC the stack creates has its default security group emptied, so nothing placed in it by mistake is reachable.",
    severity: "medium",
    remediation: "Manage the VPC's aws.ec2.DefaultSecurityGroup with ingress: [] and egress: [].",
    checkov: "CKV2_AWS_12",
    resourceTypes: [VPC, DEFAULT_SG],
    check: (r, ctx) => {
      // Managing it removes every rule it had; only the rules listed are added back.
      if (r.type === DEFAULT_SG)
        return (["ingress", "egress"] as const)
          .filter((k) => list(r.props[k]).length > 0)
          .map((k) => `the default security group has ${k} rules`);
      return referencing(ctx, DEFAULT_SG, "vpcId", r).length > 0
        ? []
        : ["the default security group is left with its default rules (not managed by the stack)"];
    },
  },
  {
    name: "aws-ec2-imdsv2",
    area: "exposure",
    description:
      "Instances and launch templates require IMDSv2 (session tokens), closing SSRF paths to instance credentials.",
    severity: "high",
    remediation: "Set metadataOptions.httpTokens: required.",
    checkov: "CKV_AWS_79",
    tfsec: "aws-ec2-enforce-http-token-imds",
    resourceTypes: ["aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"],
    check: (r) =>
      get(r.props, "metadataOptions.httpTokens") === "required" ? [] : ["IMDSv2 is not required"],
  },
  {
    name: "docker-loopback-ports",
    area: "exposure",
    description:
      "Local containers publish ports on 127.0.0.1 only and never run privileged or on the host network.",
    severity: "high",
    remediation: "Set ports[].ip to 127.0.0.1; drop privileged and networkMode host.",
    resourceTypes: ["docker:index/container:Container"],
    check: (r) => [
      ...list(r.props.ports)
        .filter((p) => !["127.0.0.1", "::1"].includes(String(get(p, "ip"))))
        .map(
          (p) =>
            `port ${String(get(p, "external"))} is published on ${text(get(p, "ip")) ?? "0.0.0.0"}`,
        ),
      ...(isTrue(r.props.privileged) ? ["the container is privileged"] : []),
      ...(r.props.networkMode === "host" ? ["the container uses the host network"] : []),
      ...(isTrue(r.props.publishAllPorts) ? ["publishAllPorts exposes every port"] : []),
    ],
  },
  {
    name: "k8s-no-public-service",
    area: "exposure",
    description:
      "Kubernetes Services are not internet-facing load balancers (public traffic enters through the Ingress).",
    severity: "medium",
    remediation:
      "Use ClusterIP behind the Ingress, or annotate the LoadBalancer Service as internal.",
    resourceTypes: SERVICES,
    check: eachObject((service) => {
      if (get(service, "spec.type") !== "LoadBalancer") return [];
      const annotations = get(service, "metadata.annotations");
      return isInternalLoadBalancer(isObject(annotations) ? annotations : {})
        ? []
        : ["a LoadBalancer Service is internet-facing"];
    }),
  },
  {
    name: "k8s-no-node-port-service",
    area: "exposure",
    description:
      "No Service is a NodePort: it opens its ports on every node's address, around the Ingress and its TLS.",
    severity: "medium",
    remediation:
      "Use a ClusterIP Service behind the Ingress (or an internal LoadBalancer Service).",
    resourceTypes: SERVICES,
    check: eachObject((service) => {
      const type = get(service, "spec.type");
      if (type === undefined || type === null) return [];
      if (typeof type !== "string" || type === SECRET_PLACEHOLDER)
        return [
          `spec.type cannot be read (it is ${describeValue(type)}), so the Service cannot be shown internal`,
        ];
      return type === "NodePort" ? ["a NodePort Service opens its ports on every node"] : [];
    }),
  },
  {
    name: "k8s-namespace-default-deny",
    area: "exposure",
    description:
      "Every namespace the stack creates has a NetworkPolicy that selects all its pods and denies ingress and egress, so each flow is opened on purpose.",
    severity: "medium",
    remediation:
      "Add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] (no rules) to the namespace, then open each flow with its own policy.",
    resourceTypes: [NAMESPACE, NETWORK_POLICY],
    check: (r, ctx) => {
      if (r.type !== NAMESPACE) return [];
      const name = get(r.props, "metadata.name");
      const policies = ctx.resources.filter(
        (p) =>
          p.type === NETWORK_POLICY &&
          (get(p.props, "metadata.namespace") === name ||
            (typeof get(p.props, "metadata.namespace") !== "string" &&
              (p.propertyDependencies.metadata ?? []).includes(r.urn))),
      );
      return policies.some(deniesAll)
        ? []
        : [
            `namespace ${String(name)} has no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)`,
          ];
    },
  },
  {
    name: "azure-storage-private",
    area: "exposure",
    description:
      "Azure storage accounts allow no public blob access and deny network access by default; containers allow no anonymous access.",
    severity: "critical",
    remediation:
      "Set allowBlobPublicAccess: false and networkRuleSet.defaultAction Deny (or publicNetworkAccess Disabled); publicAccess None on containers.",
    resourceTypes: ["azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer"],
    check: (r) =>
      r.type === "azure-native:storage:BlobContainer"
        ? r.props.publicAccess === "None"
          ? []
          : [`the container allows anonymous access (publicAccess ${String(r.props.publicAccess)})`]
        : [
            ...(isFalse(r.props.allowBlobPublicAccess) ? [] : ["public blob access is allowed"]),
            ...(r.props.publicNetworkAccess === "Disabled" ||
            get(r.props, "networkRuleSet.defaultAction") === "Deny"
              ? []
              : ["the account is reachable from any network"]),
          ],
  },
  {
    name: "azure-data-private",
    area: "exposure",
    description:
      "Azure PostgreSQL, Redis (Azure Cache and Azure Managed Redis) and Key Vault are not reachable from the public internet.",
    severity: "critical",
    remediation: "Disable public network access and use private endpoints or VNet integration.",
    resourceTypes: [
      "azure-native:dbforpostgresql:Server",
      "azure-native:redis:Redis",
      "azure-native:redisenterprise:RedisEnterprise",
      "azure-native:keyvault:Vault",
    ],
    check: (r) => {
      const access =
        r.type === "azure-native:dbforpostgresql:Server"
          ? get(r.props, "network.publicNetworkAccess")
          : r.type === "azure-native:keyvault:Vault"
            ? get(r.props, "properties.publicNetworkAccess")
            : r.props.publicNetworkAccess;
      return access === "Disabled" ? [] : ["public network access is not disabled"];
    },
  },
  {
    name: "azure-aks-private",
    area: "exposure",
    description:
      "AKS has a private API server (or authorized IP ranges), Azure RBAC and no local accounts.",
    severity: "high",
    remediation:
      "Set apiServerAccessProfile.enablePrivateCluster (or authorizedIPRanges), enableRBAC and disableLocalAccounts.",
    checkov: "CKV_AZURE_6",
    resourceTypes: [AKS_CLUSTER],
    check: (r) => [
      ...(isTrue(get(r.props, "apiServerAccessProfile.enablePrivateCluster")) ||
      list(get(r.props, "apiServerAccessProfile.authorizedIPRanges")).length > 0
        ? []
        : ["the API server is public to the internet"]),
      ...(isTrue(r.props.enableRBAC) ? [] : ["RBAC is not enabled"]),
      ...(isTrue(r.props.disableLocalAccounts) ? [] : ["local accounts are enabled"]),
    ],
  },
  {
    name: "azure-aks-nodes-private",
    area: "exposure",
    description:
      "AKS node pools sit in a subnet of the stack's network (whose security group applies) and give no node a public IP.",
    severity: "high",
    remediation:
      "Set vnetSubnetID on every pool (agentPoolProfiles and AgentPools) and leave enableNodePublicIP off.",
    resourceTypes: [AKS_CLUSTER, AKS_AGENT_POOL],
    check: (r) =>
      aksNodePools(r).flatMap(({ pool, label }) => [
        ...(isTrue(pool.enableNodePublicIP) ? [`${label} gives its nodes public IPs`] : []),
        ...(text(pool.vnetSubnetID) ? [] : [`${label} is in no subnet of the stack's network`]),
      ]),
  },
  {
    name: "azure-aks-network-policy",
    area: "exposure",
    description:
      "AKS enforces Kubernetes NetworkPolicies (Cilium, Calico or Azure), so the workloads' policies isolate them.",
    severity: "high",
    remediation:
      'Set networkProfile.networkPolicy to "cilium" (with networkDataplane "cilium"), "calico" or "azure".',
    checkov: "CKV_AZURE_7",
    resourceTypes: [AKS_CLUSTER],
    check: (r) => {
      const engine = text(get(r.props, "networkProfile.networkPolicy"));
      if (!engine || !["cilium", "calico", "azure"].includes(engine))
        return [`NetworkPolicies are not enforced (networkPolicy ${engine ?? "unset"})`];
      return engine === "cilium" && get(r.props, "networkProfile.networkDataplane") !== "cilium"
        ? ['networkPolicy "cilium" needs networkDataplane "cilium"']
        : [];
    },
  },
  {
    name: "gcp-data-private",
    area: "exposure",
    description:
      "GCS buckets prevent public access; Cloud SQL has no public IP; Memorystore uses private service access.",
    severity: "critical",
    remediation:
      "Set publicAccessPrevention enforced and uniformBucketLevelAccess; ipConfiguration.ipv4Enabled false; connectMode PRIVATE_SERVICE_ACCESS.",
    checkov: "CKV_GCP_114",
    resourceTypes: [
      "gcp:storage/bucket:Bucket",
      "gcp:sql/databaseInstance:DatabaseInstance",
      "gcp:redis/instance:Instance",
    ],
    check: (r) => {
      switch (r.type) {
        case "gcp:storage/bucket:Bucket":
          return [
            ...(r.props.publicAccessPrevention === "enforced"
              ? []
              : ["public access prevention is not enforced"]),
            ...(isTrue(r.props.uniformBucketLevelAccess)
              ? []
              : ["uniform bucket-level access is off"]),
          ];
        case "gcp:sql/databaseInstance:DatabaseInstance":
          return isFalse(get(r.props, "settings.ipConfiguration.ipv4Enabled"))
            ? []
            : ["the instance has a public IP"];
        default:
          return r.props.connectMode === "PRIVATE_SERVICE_ACCESS"
            ? []
            : ["not on private service access"];
      }
    },
  },
  {
    name: "gcp-gke-private",
    area: "exposure",
    description:
      "GKE has private nodes and a private endpoint, or master authorized networks; legacy ABAC is off.",
    severity: "high",
    remediation:
      "Set privateClusterConfig.enablePrivateNodes and enablePrivateEndpoint (or masterAuthorizedNetworksConfig), enableLegacyAbac false.",
    checkov: "CKV_GCP_25",
    resourceTypes: ["gcp:container/cluster:Cluster"],
    check: (r) => [
      ...(isTrue(get(r.props, "privateClusterConfig.enablePrivateNodes"))
        ? []
        : ["nodes have public IPs"]),
      ...(isTrue(get(r.props, "privateClusterConfig.enablePrivateEndpoint")) ||
      list(get(r.props, "masterAuthorizedNetworksConfig.cidrBlocks")).length > 0
        ? []
        : ["the control plane is public to the internet"]),
      ...(isTrue(r.props.enableLegacyAbac) ? ["legacy ABAC is on"] : []),
    ],
  },
  {
    name: "azure-nsg-no-world-ingress",
    area: "exposure",
    description: "No network security group admits the internet except on HTTPS (443).",
    severity: "critical",
    remediation:
      "Limit inbound Allow rules from Internet, * or 0.0.0.0/0 to destination port 443; reach anything else privately.",
    tfsec: "azure-network-no-public-ingress",
    resourceTypes: [NSG, NSG_RULE],
    check: (r) => [
      ...(r.type === NSG ? unreadableEntries(r.props.securityRules, "securityRules") : []),
      ...(r.type === NSG ? records(r.props.securityRules) : [r.props]).flatMap((rule) =>
        rule.direction === "Inbound" &&
        rule.access === "Allow" &&
        fromWorld(rule) &&
        !httpsOnly(rule)
          ? [
              `rule ${text(rule.name) ?? r.name} admits the internet on ports ${portsOf(rule).join(", ")}`,
            ]
          : [],
      ),
    ],
  },
  {
    name: "azure-subnet-nsg",
    area: "exposure",
    description: "Every subnet has a network security group.",
    severity: "medium",
    remediation: "Set networkSecurityGroup on the subnet.",
    checkov: "CKV2_AZURE_31",
    resourceTypes: ["azure-native:network:Subnet"],
    check: (r) =>
      text(get(r.props, "networkSecurityGroup.id")) ? [] : ["no network security group"],
  },
  {
    name: "azure-nic-no-public-ip",
    area: "exposure",
    description: "No network interface (the GPU host's) has a public IP address.",
    severity: "high",
    remediation:
      "Remove publicIPAddress from the interface's ipConfigurations; reach the host through its network.",
    checkov: "CKV_AZURE_119",
    resourceTypes: ["azure-native:network:NetworkInterface"],
    check: (r) => [
      ...unreadableEntries(r.props.ipConfigurations, "ipConfigurations"),
      ...(records(r.props.ipConfigurations).some((c) => c.publicIPAddress !== undefined)
        ? ["has a public IP address"]
        : []),
    ],
  },
  {
    name: "gcp-firewall-no-world-ingress",
    area: "exposure",
    description: "No firewall rule lets the internet in: ingress from 0.0.0.0/0 may only deny.",
    severity: "critical",
    remediation:
      "Allow ingress from specific ranges, tags or service accounts (Google's IAP range for SSH), never from 0.0.0.0/0.",
    tfsec: "google-compute-no-public-ingress",
    resourceTypes: ["gcp:compute/firewall:Firewall"],
    check: (r) =>
      r.props.direction !== "EGRESS" &&
      list(r.props.allows).length > 0 &&
      list(r.props.sourceRanges).some((range) => WORLD.includes(String(range)))
        ? [
            `allows ${Array.from(list(r.props.allows))
              .map(
                (a) =>
                  `${shown(get(a, "protocol"))}:${strings(get(a, "ports")).join(",") || "all"}`,
              )
              .join(" ")} from the internet`,
          ]
        : [],
  },
  {
    name: "gcp-instance-private",
    area: "exposure",
    description:
      "Compute Engine instances have no public IP, and sign in with OS Login only (project-wide SSH keys blocked).",
    severity: "high",
    remediation:
      "Drop networkInterfaces[].accessConfigs; set metadata enable-oslogin TRUE and block-project-ssh-keys TRUE.",
    checkov: "CKV_GCP_40",
    resourceTypes: ["gcp:compute/instance:Instance"],
    check: (r) => [
      ...unreadableEntries(r.props.networkInterfaces, "networkInterfaces"),
      ...(records(r.props.networkInterfaces).some((n) => list(n.accessConfigs).length > 0)
        ? ["has a public IP"]
        : []),
      ...(String(get(r.props, "metadata.enable-oslogin")).toUpperCase() === "TRUE"
        ? []
        : ["OS Login is not enabled"]),
      ...(String(get(r.props, "metadata.block-project-ssh-keys")).toUpperCase() === "TRUE"
        ? []
        : ["project-wide SSH keys are not blocked"]),
    ],
  },
  {
    name: "gcp-cloud-run-ingress",
    area: "exposure",
    description:
      "Cloud Run services take internal traffic only, or a load balancer's: never the internet directly.",
    severity: "high",
    remediation:
      "Set ingress INGRESS_TRAFFIC_INTERNAL_ONLY, or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER behind an HTTPS load balancer.",
    resourceTypes: ["gcp:cloudrunv2/service:Service"],
    check: (r) =>
      ["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"].includes(
        String(r.props.ingress),
      )
        ? []
        : [`ingress is ${text(r.props.ingress) ?? "INGRESS_TRAFFIC_ALL (the default)"}`],
  },
];
