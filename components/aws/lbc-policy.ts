import type { Statement } from "./account";

const CLUSTER_TAG = "elbv2.k8s.aws/cluster";
const tagged = { Null: { [`aws:ResourceTag/${CLUSTER_TAG}`]: "false" } };
const requestTagged = { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "false" } };

/**
 * The AWS Load Balancer Controller's permissions (after the project's published policy), with
 * WAF and Shield left out because the chart values turn them off: it may describe the network,
 * and create or change only the load balancers, target groups and security groups it tags.
 */
export const LOAD_BALANCER_CONTROLLER_STATEMENTS: readonly Statement[] = [
  {
    Effect: "Allow",
    Action: "iam:CreateServiceLinkedRole",
    Resource: "*",
    Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
  },
  {
    Effect: "Allow",
    Action: [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeTags",
      "ec2:DescribeRouteTables",
      "ec2:GetCoipPoolUsage",
      "ec2:DescribeCoipPools",
      "ec2:GetSecurityGroupsForVpc",
      "ec2:DescribeIpamPools",
      "elasticloadbalancing:Describe*",
      "acm:ListCertificates",
      "acm:DescribeCertificate",
      "iam:ListServerCertificates",
      "iam:GetServerCertificate",
      "cognito-idp:DescribeUserPoolClient",
    ],
    Resource: "*",
  },
  {
    Effect: "Allow",
    Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
    Resource: "*",
  },
  { Effect: "Allow", Action: "ec2:CreateSecurityGroup", Resource: "*" },
  {
    Effect: "Allow",
    Action: "ec2:CreateTags",
    Resource: "arn:aws:ec2:*:*:security-group/*",
    Condition: { StringEquals: { "ec2:CreateAction": "CreateSecurityGroup" }, ...requestTagged },
  },
  {
    Effect: "Allow",
    Action: ["ec2:CreateTags", "ec2:DeleteTags"],
    Resource: "arn:aws:ec2:*:*:security-group/*",
    Condition: {
      Null: {
        [`aws:RequestTag/${CLUSTER_TAG}`]: "true",
        [`aws:ResourceTag/${CLUSTER_TAG}`]: "false",
      },
    },
  },
  {
    Effect: "Allow",
    Action: [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:DeleteSecurityGroup",
    ],
    Resource: "*",
    Condition: tagged,
  },
  {
    Effect: "Allow",
    Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
    Resource: "*",
    Condition: requestTagged,
  },
  {
    Effect: "Allow",
    Action: [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:DeleteRule",
    ],
    Resource: "*",
  },
  {
    Effect: "Allow",
    Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
    Resource: [
      "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
      "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
      "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ],
    Condition: {
      Null: {
        [`aws:RequestTag/${CLUSTER_TAG}`]: "true",
        [`aws:ResourceTag/${CLUSTER_TAG}`]: "false",
      },
    },
  },
  {
    Effect: "Allow",
    Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
    Resource: [
      "arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
      "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
      "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
      "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
    ],
  },
  {
    Effect: "Allow",
    Action: [
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
    ],
    Resource: "*",
    Condition: tagged,
  },
  {
    Effect: "Allow",
    Action: "elasticloadbalancing:AddTags",
    Resource: [
      "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
      "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
      "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ],
    Condition: {
      StringEquals: {
        "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
      },
      ...requestTagged,
    },
  },
  {
    Effect: "Allow",
    Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
    Resource: "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
  },
  {
    Effect: "Allow",
    Action: [
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:SetRulePriorities",
    ],
    Resource: "*",
  },
];
