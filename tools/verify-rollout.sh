#!/usr/bin/env bash
# Waits until every ECS service of a stack runs the task definition the stack deployed, and fails
# when it will not: `pulumi up` returns once ECS has the new task definition, and ECS's circuit
# breaker then rolls a deployment whose tasks do not come up back to the previous one, which
# leaves the service stable and the update green. Run after `pulumi up`:
#
#   pulumi stack output rollout --json | tools/verify-rollout.sh
#
# Input (standard input): {"region": "...", "cluster": "...", "services": [{"name": "...", "taskDefinition": "arn:..."}]}
# Needs the AWS CLI (ecs:DescribeServices on the cluster) and jq. ROLLOUT_TIMEOUT_SECONDS
# (default 2400: longer than a new API task's health-check grace) bounds the wait,
# ROLLOUT_POLL_SECONDS (default 15) its pace. Exits 0 when every service's deployment of its
# task definition completed, 1 when one was rolled back, failed or is still going at the deadline,
# 2 on bad input.
set -euo pipefail

timeout=${ROLLOUT_TIMEOUT_SECONDS:-2400}
poll=${ROLLOUT_POLL_SECONDS:-15}

rollout=$(cat)
if ! jq -e '(.region | type == "string") and (.cluster | type == "string") and (.services | type == "array" and length > 0) and all(.services[]; (.name | type == "string") and (.taskDefinition | type == "string"))' >/dev/null 2>&1 <<<"$rollout"; then
  echo "verify-rollout: expected {\"region\", \"cluster\", \"services\": [{\"name\", \"taskDefinition\"}]} on standard input (pulumi stack output rollout --json), got: ${rollout:0:200}" >&2
  exit 2
fi
region=$(jq -r .region <<<"$rollout")
cluster=$(jq -r .cluster <<<"$rollout")
deadline=$((SECONDS + timeout))

# What ECS said last about a service: its newest events, to say why a deployment failed.
events() {
  jq -r '.events[:5][] | "    \(.createdAt) \(.message)"' <<<"$1"
}

failed=0
while read -r name expected; do
  while :; do
    described=$(aws ecs describe-services --region "$region" --cluster "$cluster" --services "$name" --output json </dev/null)
    service=$(jq -c '.services[0] // empty' <<<"$described")
    if [[ -z "$service" ]]; then
      echo "$name: no such service in cluster $cluster ($(jq -r '.failures[0].reason // "not found"' <<<"$described"))" >&2
      failed=1
      break
    fi
    primary=$(jq -c '.deployments[] | select(.status == "PRIMARY")' <<<"$service")
    running=$(jq -r .taskDefinition <<<"$primary")
    state=$(jq -r '.rolloutState // "COMPLETED"' <<<"$primary")
    if [[ "$running" != "$expected" ]]; then
      reason=$(jq -r --arg td "$expected" '[.deployments[] | select(.taskDefinition == $td) | .rolloutStateReason // empty][0] // "another deployment replaced it"' <<<"$service")
      echo "$name: rolled back to ${running##*/}; ${expected##*/} did not come up: $reason" >&2
      events "$service" >&2
      failed=1
      break
    fi
    if [[ "$state" == "COMPLETED" ]]; then
      echo "$name: running ${expected##*/}"
      break
    fi
    if [[ "$state" == "FAILED" ]]; then
      echo "$name: the deployment of ${expected##*/} failed: $(jq -r '.rolloutStateReason // "no reason given"' <<<"$primary")" >&2
      events "$service" >&2
      failed=1
      break
    fi
    if ((SECONDS >= deadline)); then
      echo "$name: the deployment of ${expected##*/} is still $state after ${timeout} s" >&2
      events "$service" >&2
      failed=1
      break
    fi
    echo "$name: ${expected##*/} is $state ($(jq -r '"\(.runningCount) of \(.desiredCount) tasks running"' <<<"$primary"))"
    sleep "$poll"
  done
done < <(jq -r '.services[] | "\(.name) \(.taskDefinition)"' <<<"$rollout")
exit "$failed"
