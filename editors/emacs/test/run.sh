#!/usr/bin/env bash
# Emacs (eglot) end-to-end test in batch mode: a second, independently written LSP client.
# Installs Debian's emacs-nox and elpa-eglot when missing (needs root, as in CI).
set -euo pipefail
source "$(dirname "$0")/../../test-lib.sh"

if ! command -v emacs >/dev/null || ! ls -d /usr/share/emacs/site-lisp/elpa/eglot-* >/dev/null 2>&1; then
  apt_install emacs-nox elpa-eglot
fi
emacs --version | head -1; echo

start_simulator "emacs-test-token-0b7e"
export SYNERGY_REPO=$repo PATH=$repo/target/release:$PATH HOME=$scratch/home
mkdir -p "$HOME" "$scratch/ws"
printf 'job:Riverside is known.\nAlso job:Riversde here.\n' >"$scratch/ws/plan.txt"
# Never visited in the test: its stale reference must still be listed. The folder is a git
# repository, as a user's would be, so project.el makes it the workspace root.
mkdir -p "$scratch/ws/procedures"
printf '# Levels\n\nSurvey marks are in job:Gone42.\n' >"$scratch/ws/procedures/levels.md"
git init -q "$scratch/ws"
cd "$scratch/ws"
timeout 90 emacs --batch -q -l "$repo/editors/emacs/test/e2e.el"
# The first state a new user is in: no server URL yet, then a URL but no token yet.
(unset SYNERGY_URL SYNERGY_TOKEN; E2E_MODE=no-url timeout 90 emacs --batch -q -l "$repo/editors/emacs/test/e2e-unconfigured.el")
(unset SYNERGY_TOKEN; E2E_MODE=no-token timeout 90 emacs --batch -q -l "$repo/editors/emacs/test/e2e-unconfigured.el")
rm -rf "$scratch"
