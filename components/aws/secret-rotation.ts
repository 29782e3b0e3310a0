import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";

/**
 * AWS's single-user PostgreSQL rotation function, from the Serverless Application Repository: it
 * sets a new password on the database (ALTER USER) and then makes it the secret's current value.
 * The version is the one aws-cdk pins (SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER).
 */
export const POSTGRES_SINGLE_USER_ROTATION = {
  applicationId:
    "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser",
  semanticVersion: "1.1.671",
} as const;

/** RDS refuses / @ " and spaces in a master password: the rotation leaves them out too. */
export const RDS_PASSWORD_EXCLUDED_CHARACTERS = "/@\"' \\";

export interface PostgresRotationArgs {
  /** The secret: JSON with engine, host, port, username, password, dbname (what the function reads). */
  readonly secret: aws.secretsmanager.Secret;
  /** The secret's region (the function calls Secrets Manager there). */
  readonly region: string;
  /** The secret's key: the function decrypts and writes versions with it. */
  readonly kmsKey: KmsKey;
  /** Where the function runs: its private subnets, beside the database. */
  readonly network: Network;
  /** The function's security group (the database admits it; see rotationSecurityGroup). */
  readonly securityGroup: aws.ec2.SecurityGroup;
  /** The database's security group and port, which the function connects to. */
  readonly database: { readonly securityGroupId: pulumi.Input<string>; readonly port: number };
  /** @default 30 */
  readonly rotationDays?: number;
  /** What must exist before the first rotation can connect (the database's instances). */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/**
 * The rotation function's security group: HTTPS to the VPC (the Secrets Manager interface
 * endpoint, private DNS on) and nothing else until `rotatePostgresPassword` adds the database.
 */
export function rotationSecurityGroup(
  name: string,
  network: Network,
  opts: pulumi.CustomResourceOptions,
): aws.ec2.SecurityGroup {
  const sg = new aws.ec2.SecurityGroup(
    name,
    {
      vpcId: network.vpcId,
      description: `${name}: the password rotation function`,
      egress: [],
    },
    opts,
  );
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-secretsmanager`,
    {
      securityGroupId: sg.id,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: network.vpcCidr,
      description: "HTTPS to the Secrets Manager endpoint in the VPC",
    },
    opts,
  );
  return sg;
}

/**
 * Rotates a PostgreSQL master password every `rotationDays`: AWS's rotation function (deployed
 * from the Serverless Application Repository, pinned) in the VPC, and the secret's schedule. The
 * secret's replicas in other regions follow each rotation.
 */
export function rotatePostgresPassword(
  name: string,
  args: PostgresRotationArgs,
  opts: pulumi.CustomResourceOptions,
): { rotation: aws.secretsmanager.SecretRotation; functionArn: pulumi.Output<string> } {
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-database`,
    {
      securityGroupId: args.securityGroup.id,
      ipProtocol: "tcp",
      fromPort: args.database.port,
      toPort: args.database.port,
      referencedSecurityGroupId: args.database.securityGroupId,
      description: "PostgreSQL: the password change",
    },
    opts,
  );
  const app = new aws.serverlessrepository.CloudFormationStack(
    name,
    {
      name,
      ...POSTGRES_SINGLE_USER_ROTATION,
      capabilities: ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
      parameters: {
        functionName: name,
        endpoint: `https://secretsmanager.${args.region}.amazonaws.com`,
        vpcSubnetIds: pulumi.all(args.network.privateSubnetIds).apply((ids) => ids.join(",")),
        vpcSecurityGroupIds: args.securityGroup.id,
        kmsKeyArn: args.kmsKey.arn,
        excludeCharacters: RDS_PASSWORD_EXCLUDED_CHARACTERS,
      },
    },
    opts,
  );
  const functionArn = app.outputs.apply((o) => {
    const arn = o.RotationLambdaARN;
    if (!arn) throw new Error(`${name}: the rotation application gave no RotationLambdaARN`);
    return arn;
  });
  const rotation = new aws.secretsmanager.SecretRotation(
    name,
    {
      secretId: args.secret.id,
      rotationLambdaArn: functionArn,
      rotationRules: { automaticallyAfterDays: args.rotationDays ?? 30 },
      // The first rotation waits for the schedule: Secrets Manager tests the function now.
      rotateImmediately: false,
    },
    { ...opts, dependsOn: args.after },
  );
  return { rotation, functionArn };
}
