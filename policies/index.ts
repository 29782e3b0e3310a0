// The CrossGuard policy pack. Constructing a PolicyPack starts the analyzer server, so nothing
// imports this file but the engine (`pulumi preview --policy-pack policies`).
import { PolicyPack } from "@pulumi/policy";
import { toPolicies } from "./adapter";

new PolicyPack("rag-platform", {
  description:
    "rag-platform: encryption, transit, secrets, exposure, logging, resilience and pod-security rules, graded by tier.",
  displayName: "rag-platform security",
  policies: toPolicies(),
});
