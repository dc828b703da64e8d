#!/bin/sh
# The Kubernetes benchmark's stand-in for the runner in a pod, for the 200-runs-in-flight figure
# (core's memory and watches, not the pod's): a shell process per pod instead of a Node one.
# It does what the runner's two containers do as far as core can tell:
#   --stage SRC DST  copies the Secret's files into the keys dir (the init container);
#   --pod            signs a `run.started` report with the run's report key, prints it on stdout
#                    as the runner does (`NEXUS1 <HMAC-SHA256, base64url> <json>`), deletes the
#                    keys, and waits until the Job is deleted (core's cancel).
set -eu
if [ "${1:-}" = --stage ]; then
  mkdir -p "$3"
  for f in "$2"/*; do
    if [ -f "$f" ]; then cp "$f" "$3/"; fi
  done
  exit 0
fi
keys="${NEXUS_KEYS_DIR:?}"
# The key is 32 bytes, base64url without padding (43 characters): pad it for basenc.
hex=$(printf '%s=' "$(cat "$keys/report-key")" | basenc --base64url -d | od -An -v -tx1 | tr -d ' \n')
json="{\"op\":1,\"type\":\"run.started\",\"pid\":$$,\"host\":\"k8s:${NEXUS_K8S_JOB:-}\",\"via\":\"pod\"}"
mac=$(printf '%s' "$json" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | basenc --base64url | tr -d '=\n')
printf 'NEXUS1 %s %s\n' "$mac" "$json"
rm -f "$keys"/*
exec sleep 3600
