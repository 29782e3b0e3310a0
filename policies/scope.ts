/**
 * The pack's scope: the resource types the stacks create that no rule judges, each with why. A
 * type is here only when it holds no setting that encryption, transit, secrets, exposure,
 * access, logging, resilience or pod security depends on, or when a rule judges that setting on
 * the resource it belongs to. test/policies/scope.test.ts keeps this list, the rules and the
 * synthesized stacks in step: a new type the program creates is judged or explained here.
 */

/** Type prefixes no rule judges: components and providers hold no cloud settings of their own. */
export const NOT_JUDGED_PREFIXES: Readonly<Record<string, string>> = {
  "rag:": "the program's ComponentResources: groupings with no settings of their own; their children are judged",
  "pulumi:providers:": "provider configurations (region, kubeconfig): the engine keeps their credentials secret",
};

export const NOT_JUDGED: Readonly<Record<string, string>> = {
  "aws:appautoscaling/policy:Policy": "scaling steps of an ECS service",
  "aws:appautoscaling/target:Target": "scaling range of an ECS service",
  "aws:cloudwatch/dashboard:Dashboard": "a view of metrics; holds no data",
  "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm thresholds; the topic they notify is judged (aws-sns-encrypted)",
  "aws:ec2/eip:Eip": "the NAT gateway's address; NAT admits no inbound connection",
  "aws:ec2/flowLog:FlowLog": "judged with its VPC (aws-vpc-flow-logs); its log group is judged for encryption",
  "aws:ec2/internetGateway:InternetGateway": "the public subnets' way out; what sits behind it is judged (subnets, security groups, load balancers)",
  "aws:ec2/natGateway:NatGateway": "outbound only: admits no inbound connection",
  "aws:ec2/route:Route": "routing; exposure is judged on security groups, subnets and load balancers",
  "aws:ec2/routeTable:RouteTable": "routing; exposure is judged on security groups, subnets and load balancers",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "routing; exposure is judged on security groups, subnets and load balancers",
  "aws:ec2/vpcEndpoint:VpcEndpoint": "keeps AWS API calls inside the VPC; its security group's ingress is judged (aws-no-world-ingress)",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": "image retention; the repository is judged (aws-ecr-hardened)",
  "aws:eks/addon:Addon": "an EKS-managed add-on at a pinned version; its IAM role is judged under access",
  "aws:eks/podIdentityAssociation:PodIdentityAssociation": "binds a service account to an IAM role, which the access rules judge",
  "aws:elasticache/parameterGroup:ParameterGroup": "engine settings (eviction policy); encryption, transit and auth are judged on the replication group",
  "aws:elasticache/subnetGroup:SubnetGroup": "placement in private subnets; exposure is judged on the cache's security group",
  "aws:iam/instanceProfile:InstanceProfile": "carries a role, which the access rules judge",
  "aws:kms/alias:Alias": "a name for a key; rotation is judged on the key (aws-kms-rotation)",
  "aws:lb/targetGroup:TargetGroup": "behind the load balancer, whose scheme and listeners are judged (aws-lb-https-only)",
  "aws:rds/subnetGroup:SubnetGroup": "placement in private subnets; exposure is judged on the instance (aws-rds-not-public) and its security group",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "how long old versions are kept; the bucket's encryption, access and logging are judged",
  "aws:s3/bucketLogging:BucketLogging": "judged with its bucket (aws-s3-access-logging)",
  "aws:secretsmanager/secretVersion:SecretVersion": "a secret's value, secret in the state; the secret's key is judged (aws-secret-customer-key)",
  "aws:sns/topicSubscription:TopicSubscription": "e-mail subscribers of the alarm topic, which is judged (aws-sns-encrypted)",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "outbound rules; the pack judges what can reach in (aws-no-world-ingress)",
  "docker:index/image:Image": "the runtime image build; the containers that run images are judged",
  "docker:index/network:Network": "the dev tier's private bridge network; published ports are judged on the containers (docker-loopback-ports)",
  "docker:index/volume:Volume": "a named volume on the developer's machine",
  "kubernetes:argoproj.io/v1alpha1:Application": "what Argo CD syncs is outside this stack's state, so outside the pack's reach",
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": "replica ranges; the Deployments' replicas (k8s-api-replicas) and PDBs are judged",
  "kubernetes:core/v1:PersistentVolumeClaim": "its StorageClass is judged for encryption (aws-ebs-encrypted)",
  "kubernetes:core/v1:ServiceAccount": "an identity; pods are judged for mounting its token (k8s-no-service-account-token), its IAM role under access",
  "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore": "points at the cloud's secret manager; holds no secret",
  "kubernetes:external-secrets.io/v1beta1:ExternalSecret": "names secrets in the cloud's secret manager to sync; holds no value",
  "kubernetes:keda.sh/v1alpha1:ScaledObject": "a scaling rule for a Deployment",
  "kubernetes:keda.sh/v1alpha1:TriggerAuthentication": "references a Kubernetes Secret for the scaler; holds no value",
  "random:index/randomId:RandomId": "a generated suffix",
  "random:index/randomPassword:RandomPassword": "a generated value, secret in the state",
};
