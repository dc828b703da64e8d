#!/usr/bin/env bash
# The project's test command (`npm test`): prepares the machine, builds, checks types, lint and
# formatting, then runs every test layer — unit, contract, extension host (real VS Code), UI
# (real browser).
# Each stage is announced and timed; the first failing stage stops the run with its name.
# Test runners print to the terminal unfiltered (CI reads their closing lines).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

summary=()
run_started=$(date +%s)
stage_timeout="${NEXUS_STAGE_TIMEOUT_S:-1800}"

print_summary() {
  echo
  echo "==================== test summary ===================="
  local line
  for line in "${summary[@]}"; do echo "  $line"; done
  echo "  total: $(($(date +%s) - run_started)) s"
  echo "======================================================"
}

# stage <name> <command...>: runs one stage, records its outcome and time, stops on failure.
stage() {
  local name="$1"
  shift
  echo
  echo "==> [$name] $*"
  local started status=0
  started=$(date +%s)
  # A hung test must not eat the whole CI budget: timeout signals the stage's process group.
  timeout -k 10 "$stage_timeout" "$@" || status=$?
  local took=$(($(date +%s) - started))
  if [ "$status" -eq 124 ]; then
    echo "test.sh: stage '$name' did not finish within $stage_timeout s." >&2
  fi
  if [ "$status" -ne 0 ]; then
    summary+=("$(printf '%-10s FAILED (exit %d) %4d s' "$name" "$status" "$took")")
    print_summary
    echo "test.sh: stage '$name' failed (exit $status); later stages were not run." >&2
    exit 1
  fi
  summary+=("$(printf '%-10s ok %17d s' "$name" "$took")")
}

# skip <name> <reason>: records a stage that had nothing to run.
skip() {
  echo
  echo "==> [$1] skipped: $2"
  summary+=("$(printf '%-10s skipped (%s)' "$1" "$2")")
}

# has_tests <dir>: whether <dir> holds any *.test.ts (node --test fails on an empty glob).
has_tests() {
  [ -d "$1" ] && [ -n "$(find "$1" -name '*.test.ts' -print -quit)" ]
}

# setup.sh runs as its own process: inside `stage` (an `||` context) bash would ignore its
# `set -e`. Node 24 then goes first on PATH here; the harness finds code-server on its own.
stage setup bash scripts/setup.sh
# shellcheck source=scripts/node-env.sh
source "$root/scripts/node-env.sh"
stage build npm run --silent build
stage typecheck npm run --silent typecheck
stage lint npm run --silent lint
stage format npm run --silent format:check
if has_tests test/unit; then stage unit npm run --silent test:unit; else skip unit 'no test/unit/**/*.test.ts'; fi
if has_tests test/contract; then
  stage contract npm run --silent test:contract
else
  skip contract 'no test/contract/**/*.test.ts'
fi
# The extension-host suite loads the development build (dist/ + out/test) from `build`.
stage vscode npm run --silent test:vscode
# `package` rebuilds dist/ for production and writes dist/nexus.vsix for the UI tests.
stage package npm run --silent package
if has_tests test/ui; then stage ui npm run --silent test:ui; else skip ui 'no test/ui/**/*.test.ts'; fi
print_summary
echo "test.sh: all stages passed."
