#!/usr/bin/env bash
# Prepares a machine to build, test and run Nexus. Idempotent: every step checks first and says
# what it does. Installs (only when missing): Debian build tools + Chromium, Node 24 (from the npm
# registry, via node-env.sh), the repo's node_modules, and code-server (a real VS Code from npm,
# pinned: the test hooks we use are VS Code internals) into a cache outside the repository.
#
# Run it (`bash scripts/setup.sh`), or `source` it from another script to also get
# NEXUS_CODE_SERVER (the code-server binary) exported; test/harness/code-server.ts falls back to
# the same path, $NEXUS_TOOLS_DIR/code-server-<version>/node_modules/.bin/code-server.
set -euo pipefail

_setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEXUS_CODE_SERVER_VERSION="4.139.1"
_setup_say() { echo "setup: $*" >&2; }

# When started from an npm script (`npm test`), npm's lifecycle variables are inherited. The
# nested installs below must not see them: npm_config_user_agent would claim the outer npm's
# Node 20 (code-server's postinstall checks it and refuses), npm_config_local_prefix would point
# at this repo while installing into the tools folder.
unset npm_config_user_agent npm_config_local_prefix npm_config_global_prefix npm_config_prefix \
  npm_config_node_gyp npm_config_npm_version npm_config_allow_scripts npm_config_nodedir \
  npm_execpath npm_node_execpath npm_command npm_lifecycle_event npm_lifecycle_script
for _var in $(compgen -e | grep '^npm_package_' || true); do unset "$_var"; done

# --- 1. Debian packages ---------------------------------------------------------------------
# libkrb5-dev: code-server's native `kerberos` module; chromium: /usr/bin/chromium for Playwright;
# podman and runc: the runner image test (test/contract/kubernetes.image.test.ts; crun, podman's
# default runtime, cannot start containers on these hosts). About 30 MB, under 30 s to install.
# strace: test/unit/store-kill-points.test.ts stops a writer at exact syscalls of its write.
_setup_apt_packages=(build-essential python3 libkrb5-dev chromium git bubblewrap podman runc strace)
_setup_missing=()
for _pkg in "${_setup_apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$_pkg" 2>/dev/null | grep -q 'install ok installed'; then
    _setup_missing+=("$_pkg")
  fi
done
if [ "${#_setup_missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    _setup_say "missing Debian packages: ${_setup_missing[*]}"
    _setup_say "run as root:  apt-get update && apt-get install -y ${_setup_apt_packages[*]}"
    exit 1
  fi
  _setup_say "installing Debian packages: ${_setup_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${_setup_apt_packages[@]}"
else
  _setup_say "Debian packages present (${_setup_apt_packages[*]})"
fi

# --- 2. Node 24 -----------------------------------------------------------------------------
# node-env.sh installs the `node` npm package, whose preinstall script fetches the real binary.
# Newer npm blocks dependency install scripts unless package.json#allowScripts approves them,
# so seed the tools package.json with that approval before node-env.sh creates a bare one.
_setup_tools="${NEXUS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nexus-dev}"
_setup_node_pkg="$_setup_tools/node-24.11.1/package.json"
if [ ! -f "$_setup_node_pkg" ]; then
  mkdir -p "$(dirname "$_setup_node_pkg")"
  echo '{"private":true,"allowScripts":{"node":true}}' >"$_setup_node_pkg"
fi
# shellcheck source=scripts/node-env.sh
source "$_setup_root/scripts/node-env.sh"
_setup_say "Node $(node --version) at $NEXUS_NODE_BIN; npm $(npm --version 2>/dev/null)"

# --- 3. The repository's node_modules ---------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json
# means the lockfile changed since the last install.
if [ -L "$_setup_root/node_modules" ]; then
  # npm ci empties a symlinked node_modules' target before replacing the link: never do that
  # to a tree someone else is using.
  _setup_say "node_modules is a symlink; not running npm ci (remove the link to install here)"
elif [ ! -f "$_setup_root/node_modules/.package-lock.json" ] ||
  [ "$_setup_root/package-lock.json" -nt "$_setup_root/node_modules/.package-lock.json" ]; then
  _setup_say "npm ci in $_setup_root (node_modules missing or older than package-lock.json)"
  (cd "$_setup_root" && npm ci --no-audit --no-fund)
else
  _setup_say "node_modules up to date"
fi

# --- 4. code-server ---------------------------------------------------------------------------
NEXUS_CODE_SERVER_DIR="$NEXUS_TOOLS_DIR/code-server-$NEXUS_CODE_SERVER_VERSION"
NEXUS_CODE_SERVER="$NEXUS_CODE_SERVER_DIR/node_modules/.bin/code-server"
_setup_cs_version() {
  node -p 'require(process.argv[1]).version' \
    "$NEXUS_CODE_SERVER_DIR/node_modules/code-server/package.json" 2>/dev/null || true
}
if [ -x "$NEXUS_CODE_SERVER" ] && [ "$(_setup_cs_version)" = "$NEXUS_CODE_SERVER_VERSION" ]; then
  _setup_say "code-server $NEXUS_CODE_SERVER_VERSION present"
else
  # Install into a side folder and rename at the end, so an interrupted install (~100 s,
  # ~620 MB) is never mistaken for a finished one.
  _setup_partial="$NEXUS_CODE_SERVER_DIR.partial"
  _setup_say "installing code-server@$NEXUS_CODE_SERVER_VERSION into $NEXUS_CODE_SERVER_DIR (~100 s)"
  rm -rf "$_setup_partial"
  mkdir -p "$_setup_partial"
  # argon2 builds natively; code-server's postinstall installs VS Code's own dependencies.
  cat >"$_setup_partial/package.json" <<EOF
{
  "private": true,
  "dependencies": { "code-server": "$NEXUS_CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
  # Node 24 is first on PATH and npm_config_nodedir points at its headers (node-env.sh), so
  # native modules build for the Node that code-server runs on.
  (cd "$_setup_partial" && npm install --no-audit --no-fund)
  rm -rf "$NEXUS_CODE_SERVER_DIR"
  mv "$_setup_partial" "$NEXUS_CODE_SERVER_DIR"
  if [ "$(_setup_cs_version)" != "$NEXUS_CODE_SERVER_VERSION" ]; then
    _setup_say "code-server install did not produce version $NEXUS_CODE_SERVER_VERSION"
    exit 1
  fi
fi
export NEXUS_CODE_SERVER NEXUS_CODE_SERVER_DIR NEXUS_CODE_SERVER_VERSION
_setup_say "NEXUS_CODE_SERVER=$NEXUS_CODE_SERVER"
_setup_say "Chromium: $(command -v chromium || echo 'not found')"
unset _setup_root _setup_tools _setup_node_pkg _setup_missing _setup_apt_packages _pkg
