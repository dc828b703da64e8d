#!/usr/bin/env bash
# The product's main job (`npm start`): Nexus running in a real VS Code in your browser.
# Prepares the machine (scripts/setup.sh), builds and packages the extension, makes a sample
# workspace, installs the VSIX into an isolated code-server on 127.0.0.1 and prints the URL.
# Runs until Ctrl-C, then stops the server and removes its throwaway folders.
#
#   bash scripts/start.sh            # serve on $NEXUS_PORT (default 8765, else the next free port)
#   bash scripts/start.sh --check    # start, prove it works (HTTP 200, extension installed,
#                                    # Nexus visible in a headless browser), stop, exit 0
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

check=()
for arg in "$@"; do
  case "$arg" in
    --check) check=(--check) ;;
    *)
      echo "usage: bash scripts/start.sh [--check]" >&2
      exit 3
      ;;
  esac
done

bash scripts/setup.sh
# shellcheck source=scripts/node-env.sh
source scripts/node-env.sh

echo "start: building and packaging the extension (dist/nexus.vsix)"
npm run --silent package >/dev/null

# The sample workspace persists between starts (runs and edits survive); delete it for a
# fresh copy of examples/workspace.
workspace="$NEXUS_TOOLS_DIR/sample-workspace"
if [ ! -d "$workspace" ]; then
  if [ -d examples/workspace ]; then
    echo "start: creating $workspace from examples/workspace"
    mkdir -p "$(dirname "$workspace")"
    cp -R examples/workspace "$workspace"
  else
    echo "start: creating an empty $workspace (no examples/workspace in this checkout)"
    mkdir -p "$workspace"
  fi
  git -C "$workspace" init -q
  git -C "$workspace" add -A
  git -C "$workspace" -c user.name=Nexus -c user.email=nexus@localhost \
    commit -q --allow-empty -m "Sample workspace"
else
  echo "start: using the existing $workspace (delete it for a fresh copy)"
fi

exec node test/harness/serve.ts --vsix dist/nexus.vsix --workspace "$workspace" \
  --port "${NEXUS_PORT:-8765}" "${check[@]}"
