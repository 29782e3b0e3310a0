/** Every rule of the pack, in report order. */
import { accessRules } from "./access";
import { encryptionRules } from "./encryption";
import { exposureRules } from "./exposure";
import { loggingRules } from "./logging";
import { podSecurityRules } from "./pod-security";
import { resilienceRules } from "./resilience";
import { secretRules } from "./secrets";
import { transitRules } from "./transit";
import type { Rule } from "./types";

export const ALL_RULES: readonly Rule[] = [
  ...encryptionRules,
  ...transitRules,
  ...secretRules,
  ...exposureRules,
  ...accessRules,
  ...loggingRules,
  ...resilienceRules,
  ...podSecurityRules,
];

export * from "./types";
