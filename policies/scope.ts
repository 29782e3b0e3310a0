/**
 * The pack's scope: the resource types the stacks create that no rule judges, each with why. A
 * type is here only when it holds no setting that encryption, transit, secrets, exposure,
 * access, logging, resilience or pod security depends on, or when a rule judges that setting on
 * the resource it belongs to. test/policies/scope.test.ts keeps this list, the rules and the
 * synthesized stacks in step: a new type the program creates is judged or explained here.
 */

/** Type prefixes no rule judges: components and providers hold no cloud settings of their own. */
export const NOT_JUDGED_PREFIXES: Readonly<Record<string, string>> = {
  "rag:":
    "the program's ComponentResources: groupings with no settings of their own; their children are judged",
  "pulumi:providers:":
    "provider configurations (region, kubeconfig): the engine keeps their credentials secret",
};

export const NOT_JUDGED: Readonly<Record<string, string>> = {
  "aws:appautoscaling/policy:Policy": "scaling steps of an ECS service",
  "aws:appautoscaling/target:Target": "scaling range of an ECS service",
  "aws:cloudwatch/dashboard:Dashboard": "a view of metrics; holds no data",
  "aws:cloudwatch/metricAlarm:MetricAlarm":
    "alarm thresholds; the topic they notify is judged (aws-sns-encrypted)",
  "aws:ec2/eip:Eip": "the NAT gateway's address; NAT admits no inbound connection",
  "aws:ec2/flowLog:FlowLog":
    "judged with its VPC (aws-vpc-flow-logs); its log group is judged for encryption",
  "aws:ec2/internetGateway:InternetGateway":
    "the public subnets' way out; what sits behind it is judged (subnets, security groups, load balancers)",
  "aws:ec2/natGateway:NatGateway": "outbound only: admits no inbound connection",
  "aws:ec2/route:Route":
    "routing; exposure is judged on security groups, subnets and load balancers",
  "aws:ec2/routeTable:RouteTable":
    "routing; exposure is judged on security groups, subnets and load balancers",
  "aws:ec2/routeTableAssociation:RouteTableAssociation":
    "routing; exposure is judged on security groups, subnets and load balancers",
  "aws:ec2/vpcEndpoint:VpcEndpoint":
    "keeps AWS API calls inside the VPC; its security group's ingress is judged (aws-no-world-ingress)",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy":
    "image retention; the repository is judged (aws-ecr-hardened)",
  "aws:eks/addon:Addon":
    "an EKS-managed add-on at a pinned version; its IAM role is judged under access",
  "aws:eks/podIdentityAssociation:PodIdentityAssociation":
    "binds a service account to an IAM role, which the access rules judge",
  "aws:elasticache/parameterGroup:ParameterGroup":
    "engine settings (eviction policy); encryption, transit and auth are judged on the replication group",
  "aws:elasticache/subnetGroup:SubnetGroup":
    "placement in private subnets; exposure is judged on the cache's security group",
  "aws:iam/instanceProfile:InstanceProfile": "carries a role, which the access rules judge",
  "aws:kms/alias:Alias": "a name for a key; rotation is judged on the key (aws-kms-rotation)",
  "aws:lb/targetGroup:TargetGroup":
    "behind the load balancer, whose scheme and listeners are judged (aws-lb-https-only)",
  "aws:rds/subnetGroup:SubnetGroup":
    "placement in private subnets; exposure is judged on the instance (aws-rds-not-public) and its security group",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
    "how long old versions are kept; the bucket's encryption, access and logging are judged",
  "aws:s3/bucketLogging:BucketLogging": "judged with its bucket (aws-s3-access-logging)",
  "aws:secretsmanager/secretVersion:SecretVersion":
    "a secret's value, secret in the state; the secret's key is judged (aws-secret-customer-key)",
  "aws:sns/topicSubscription:TopicSubscription":
    "e-mail subscribers of the alarm topic, which is judged (aws-sns-encrypted)",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
    "outbound rules; the pack judges what can reach in (aws-no-world-ingress)",
  "azure-native:app:Certificate":
    "a reference to the public certificate in the operator's Key Vault, read with a managed identity; it holds no key",
  "azure-native:applicationinsights:Workbook":
    "a dashboard of queries over the logs; holds no data",
  "azure-native:authorization:ManagementLockByScope":
    "a delete lock on the database server (deletion protection); it only forbids, so it weakens nothing",
  "azure-native:compute:DiskEncryptionSet":
    "wraps disks with the vault's key; the VM is judged for using one (azure-disk-customer-key), the key for rotation",
  "azure-native:compute:VirtualMachineExtension":
    "software the GPU host installs (NVIDIA driver, Ollama); the VM, its interface and its subnet's NSG are judged",
  "azure-native:dbforpostgresql:Database":
    "a database inside the server, which is judged for encryption, exposure, backups and logs",
  "azure-native:keyvault:Secret":
    "a secret's value, secret in the state; its vault is judged (azure-data-private, azure-keyvault-recoverable, azure-keyvault-rbac)",
  "azure-native:managedidentity:UserAssignedIdentity":
    "an identity; what it may do is judged on its role assignments (azure-role-assignment-scoped)",
  "azure-native:monitor:ActionGroup": "who the alerts e-mail",
  "azure-native:monitor:MetricAlert": "alert thresholds on platform metrics",
  "azure-native:network:NatGateway": "outbound only: admits no inbound connection",
  "azure-native:network:PrivateDnsZoneGroup":
    "registers a private endpoint's address in its private DNS zone",
  "azure-native:network:PrivateEndpoint":
    "a private address for a service in the endpoint subnet, whose NSG is judged (azure-nsg-no-world-ingress, azure-subnet-nsg)",
  "azure-native:network:PublicIPAddress":
    "the NAT gateway's address; NAT admits no inbound connection",
  "azure-native:network:VirtualNetwork":
    "an address space; exposure is judged on its subnets (azure-subnet-nsg) and their NSGs",
  "azure-native:operationalinsights:Workspace":
    "where logs go; the resources that must send there are judged (azure-data-logged)",
  "azure-native:privatedns:PrivateRecordSet":
    "a name inside the virtual network (the internal apps' address)",
  "azure-native:privatedns:PrivateZone": "private name resolution inside the virtual network",
  "azure-native:privatedns:VirtualNetworkLink":
    "lets the virtual network resolve a private zone's names",
  "azure-native:resources:ResourceGroup":
    "a container for the stack's resources; holds no settings they depend on",
  "azure-native:storage:ManagementPolicy":
    "how long old versions are kept; the account's encryption, access, versioning and logging are judged",
  "command:local:Command":
    "runs `az acr login --expose-token` where `pulumi up` runs, for a push token; creates nothing in the cloud",
  "docker:index/image:Image": "the runtime image build; the containers that run images are judged",
  "docker:index/network:Network":
    "the dev tier's private bridge network; published ports are judged on the containers (docker-loopback-ports)",
  "docker:index/volume:Volume": "a named volume on the developer's machine",
  "gcp:compute/address:Address":
    "an internal address, the GPU host's or the internal Gateway's; what listens there is judged (gcp-instance-private, gke-gateway-https)",
  "gcp:compute/globalAddress:GlobalAddress":
    "the private services range, or the load balancer's address; what listens there is judged (gcp-lb-https-only, gcp-firewall-no-world-ingress)",
  "gcp:compute/regionSslCertificate:RegionSslCertificate":
    "the internal Gateway's certificate from the stack's CA, its key secret in the state; the Gateway serving it is judged (gke-gateway-https)",
  "gcp:compute/managedSslCertificate:ManagedSslCertificate":
    "a certificate Google issues and renews for the hostname; the proxy serving it is judged (gcp-lb-https-only)",
  "gcp:compute/network:Network":
    "a VPC with no rules of its own; its subnets (flow logs) and firewall rules are judged",
  "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup":
    "points the load balancer at the Cloud Run service, whose ingress is judged (gcp-cloud-run-ingress)",
  "gcp:compute/router:Router":
    "routing for Cloud NAT; exposure is judged on firewall rules and instances",
  "gcp:compute/routerNat:RouterNat": "outbound only: admits no inbound connection",
  "gcp:compute/uRLMap:URLMap":
    "routes every request to the one backend, whose logging is judged (gcp-flow-and-request-logs)",
  "gcp:kms/keyRing:KeyRing":
    "a container for keys; rotation is judged on the key (gcp-kms-rotation)",
  "gcp:monitoring/alertPolicy:AlertPolicy": "alert thresholds and who they notify",
  "gcp:monitoring/notificationChannel:NotificationChannel": "an e-mail address the alerts go to",
  "gcp:monitoring/dashboard:Dashboard": "a view of metrics; holds no data",
  "gcp:projects/service:Service": "turns on a Google API in the project",
  "gcp:projects/serviceIdentity:ServiceIdentity":
    "a Google service's own agent; what it may do is judged on its grants (gcp-iam-no-broad-roles)",
  "gcp:secretmanager/secretVersion:SecretVersion":
    "a secret's value, secret in the state; the secret's encryption is judged (gcp-secret-customer-key)",
  "gcp:serviceaccount/account:Account":
    "an identity; what it may do is judged on its grants (gcp-iam-no-broad-roles)",
  "gcp:servicenetworking/connection:Connection":
    "the peering Cloud SQL and Memorystore are reached through; their exposure is judged (gcp-data-private)",
  "gcp:sql/database:Database":
    "a database inside the instance, which is judged for encryption, exposure, TLS, backups and logs",
  "gcp:sql/user:User":
    "the runtime's database user; its password is secret in the state and kept in Secret Manager",
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler":
    "replica ranges; the Deployments' replicas (k8s-api-replicas) and PDBs are judged",
  "kubernetes:core/v1:PersistentVolumeClaim":
    "its StorageClass is judged for encryption (aws-ebs-encrypted)",
  "kubernetes:core/v1:ServiceAccount":
    "an identity; pods are judged for mounting its token (k8s-no-service-account-token), its IAM role under access",
  "kubernetes:external-secrets.io/v1:ClusterSecretStore":
    "points at the cloud's secret manager; holds no secret",
  "kubernetes:external-secrets.io/v1:ExternalSecret":
    "names secrets in the cloud's secret manager to sync; holds no value",
  "kubernetes:keda.sh/v1alpha1:ScaledObject": "a scaling rule for a Deployment",
  "kubernetes:networking.gke.io/v1:HealthCheckPolicy":
    "how GKE's load balancer checks the API's readiness; holds no security setting",
  "kubernetes:keda.sh/v1alpha1:TriggerAuthentication":
    "references a Kubernetes Secret for the scaler; holds no value",
  "random:index/randomId:RandomId": "a generated suffix",
  "random:index/randomPassword:RandomPassword": "a generated value, secret in the state",
  "random:index/randomString:RandomString":
    "a generated suffix for names Azure requires to be globally unique",
  "tls:index/privateKey:PrivateKey":
    "a key whose private half stays in the encrypted state: the unused SSH key Azure requires for a Linux VM (the VM is judged for password sign-in, its NSG for port 22), or the internal Gateway's and its CA's (the Gateway is judged)",
  "tls:index/selfSignedCert:SelfSignedCert":
    "the stack's own CA for the internal Gateway's certificate; clients trust its public half (apiCaCertificate)",
  "tls:index/certRequest:CertRequest": "the internal Gateway certificate's request (public)",
  "tls:index/locallySignedCert:LocallySignedCert":
    "the internal Gateway's certificate, signed by the stack's CA; the Gateway serving it is judged (gke-gateway-https)",
};
