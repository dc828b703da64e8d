#!/usr/bin/env bash
# Builds the runner image `nexus-runner:<version>` from runner/Containerfile, with podman or
# docker (whichever is installed; NEXUS_IMAGE_ENGINE picks one). Builds dist/ first when it is
# missing. The Claude Code and Codex versions come from package.json, so the image runs the
# CLIs the tests ran with. Extra arguments go to `<engine> build` (e.g. --no-cache).
#
# The build context is a temporary folder holding only the Containerfile and the dist files
# the image needs: never the repository, its node_modules or .git.
#
# After the build it runs the image once as the Job runs its pod (read-only root, uid 10001,
# every capability dropped, no-new-privileges, no network): `runner.mjs --help` must exit 0.
# NEXUS_IMAGE_RUNTIME (podman only) picks the OCI runtime, e.g. runc where crun, podman's
# default, cannot start containers (cgroups v1 or hybrid hosts).
#
# Then tag and push it to a registry your cluster pulls from (docs/deployment.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { echo "image: $*" >&2; }

engine="${NEXUS_IMAGE_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then
    engine=podman
  elif command -v docker >/dev/null 2>&1; then
    engine=docker
  else
    say "neither podman nor docker is installed: install one of them (or set NEXUS_IMAGE_ENGINE to a compatible builder)"
    exit 2
  fi
elif ! command -v "$engine" >/dev/null 2>&1; then
  say "NEXUS_IMAGE_ENGINE=$engine is not on PATH"
  exit 2
fi

# One read of package.json: the version to tag, and the exact CLI versions to install.
read -r version claude_version codex_version < <(
  bash "$root/scripts/n" node -e '
    const p = require("./package.json");
    const d = { ...p.dependencies, ...p.devDependencies };
    console.log(p.version, d["@anthropic-ai/claude-code"] ?? "", d["@openai/codex"] ?? "");
  '
)
[ -n "$version" ] || { say "cannot read the version from package.json"; exit 2; }
exact='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'
for pin in "@anthropic-ai/claude-code=$claude_version" "@openai/codex=$codex_version"; do
  if ! [[ "${pin#*=}" =~ $exact ]]; then
    say "package.json must pin ${pin%%=*} to an exact version (found '${pin#*=}')"
    exit 2
  fi
done

if [ ! -f dist/runner.mjs ] || [ ! -f dist/cli.cjs ] || [ ! -f dist/cli-main.mjs ] || [ ! -f dist/cli-task.cjs ] || [ ! -f dist/cli-task-embedded.cjs ] || [ ! -f dist/cli-task-socket.cjs ] || [ ! -d dist/chunks ]; then
  say "dist/ is missing: npm run build"
  npm run build
else
  say "using the existing dist/ (npm run build to refresh it)"
fi

context="$(mktemp -d "${TMPDIR:-/tmp}/nexus-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/dist/chunks"
cp runner/Containerfile "$context/Containerfile"
cp dist/runner.mjs dist/cli.cjs dist/cli-main.mjs dist/cli-task.cjs dist/cli-task-embedded.cjs dist/cli-task-socket.cjs "$context/dist/"
# The chunks, without their source maps (nothing in the pod reads them).
find dist/chunks -maxdepth 1 -type f -name '*.mjs' -exec cp {} "$context/dist/chunks/" \;

engine_args=()
if [ -n "${NEXUS_IMAGE_RUNTIME:-}" ]; then
  [ "$engine" = podman ] || { say "NEXUS_IMAGE_RUNTIME applies to podman only"; exit 2; }
  engine_args=(--runtime "$NEXUS_IMAGE_RUNTIME")
fi

tag="nexus-runner:$version"
say "$engine build -t $tag (Claude Code $claude_version, Codex $codex_version)"
"$engine" "${engine_args[@]}" build \
  -f "$context/Containerfile" \
  --build-arg "NEXUS_VERSION=$version" \
  --build-arg "CLAUDE_CODE_VERSION=$claude_version" \
  --build-arg "CODEX_VERSION=$codex_version" \
  -t "$tag" \
  "$@" \
  "$context"
say "checking $tag runs with the Job's security settings"
"$engine" "${engine_args[@]}" run --rm --read-only --tmpfs /tmp --user 10001:10001 \
  --cap-drop ALL --security-opt no-new-privileges --network none \
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
  "$tag" node /opt/nexus/dist/runner.mjs --help >/dev/null
say "built $tag; push it with: $engine tag $tag <registry>/$tag && $engine push <registry>/$tag"
