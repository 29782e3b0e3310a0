/** Every rule of the pack, in report order. */
import { accessRules } from "./access";
import { auditRules } from "./audit";
import { encryptionRules } from "./encryption";
import { exposureRules } from "./exposure";
import { gkeRules } from "./gke";
import { hostAccessRules } from "./host-access";
import { ingressRules } from "./ingress";
import { loggingRules } from "./logging";
import { multiRegionRules } from "./multi-region";
import { podSecurityRules } from "./pod-security";
import { rbacRules } from "./rbac";
import { resilienceRules } from "./resilience";
import { secretRules } from "./secrets";
import { transitRules } from "./transit";
import { zeroTrustRules } from "./zero-trust";
import type { Rule } from "./types";

export const ALL_RULES: readonly Rule[] = [
  ...encryptionRules,
  ...transitRules,
  ...ingressRules,
  ...secretRules,
  ...exposureRules,
  ...accessRules,
  ...rbacRules,
  ...loggingRules,
  ...resilienceRules,
  ...multiRegionRules,
  ...podSecurityRules,
  ...hostAccessRules,
  ...gkeRules,
  ...zeroTrustRules,
  ...auditRules,
];

export * from "./types";
