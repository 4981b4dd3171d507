#!/usr/bin/env bash
# VS Code end-to-end test: builds and unit-tests the extension, packages the .vsix with the
# release binary, installs it into code-server 4.100.3 (npm), and drives that through Debian's
# Chromium with Playwright against the simulator (e2e.mjs). Screenshots go to
# target/vscode-e2e/. Installs (apt: chromium, ripgrep, libkrb5-dev; npm) happen once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../../test-lib.sh"
ext=$repo/editors/vscode
export npm_config_yes=true npm_config_nodedir=/usr npm_config_unsafe_perm=true npm_config_fund=false npm_config_audit=false

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
[ -e /usr/include/krb5.h ] || missing+=(libkrb5-dev)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# The extension: install, type-check, unit tests, package (with the release binary).
(cd "$ext" && { [ -d node_modules ] || npm ci --silent; } && npm run --silent typecheck && npm test --silent 2>&1 | tail -8 \
  && npm run --silent package >/dev/null)
vsix=$ext/synergy-ls-linux-x64.vsix

# code-server and playwright-core, in the tools folder, reinstalled when package.json changes.
e2e=$tools/vscode-e2e
if ! cmp -s "$here/package.json" "$e2e/package.json" || [ ! -x "$e2e/node_modules/.bin/code-server" ]; then
  rm -rf "$e2e" && mkdir -p "$e2e/tmp/vscode-ripgrep-cache-1.15.11" && cp "$here/package.json" "$e2e/"
  # @vscode/ripgrep would download rg; it takes this archive of Debian's instead.
  tar czf "$e2e/tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg
  (cd "$e2e" && TMPDIR=$e2e/tmp npm install --silent --no-package-lock)
fi
cs=$e2e/node_modules/.bin/code-server

start_simulator "vscode-test-token-a7d2"
token=$SYNERGY_TOKEN
# VS Code gets neither the token nor the URL from the environment: the URL is a user setting
# and the token is typed into the extension's prompt, as a user would.
unset SYNERGY_TOKEN SYNERGY_URL SYNERGY_LS_PATH

data=$scratch/vscode ws=$scratch/ws shots=$repo/target/vscode-e2e
mkdir -p "$data/user/User" "$ws" "$shots"
printf 'job:Riverside is known.\nAlso job:Riversde here.\n' >"$ws/plan.md"
# Never opened in the test: its stale reference must still reach the Problems view.
mkdir -p "$ws/procedures"
printf '# Levels\n\nSurvey marks are in job:Gone42.\n' >"$ws/procedures/levels.md"
# Never opened either, until "Fix All Stale References in Workspace" has fixed its case.
printf 'Levels in job:riverside.\n' >"$ws/procedures/case.md"
# The folder's own settings: a case mismatch is a warning here (the default is information).
# VS Code's default for the same setting must not hide it.
printf '[diagnostics.severity]\ncaseMismatch = "warning"\n' >"$ws/.synergy.toml"
cat >"$data/user/User/settings.json" <<JSON
{
  "synergy.serverUrl": "$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$scratch/simulator.log" | head -1)",
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
  "workbench.tips.enabled": false,
  "git.openRepositoryInParentFolders": "never",
  "editor.hover.delay": 100
}
JSON
"$cs" --user-data-dir "$data/user" --extensions-dir "$data/ext" --install-extension "$vsix" >"$scratch/install.log" 2>&1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$cs" --bind-addr "127.0.0.1:$port" --auth none --user-data-dir "$data/user" --extensions-dir "$data/ext" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  "$ws" >"$scratch/code-server.log" 2>&1 &
cs_pid=$!
trap 'kill $cs_pid $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

# Run from beside node_modules: ES modules resolve packages from the script's folder.
cp "$here/e2e.mjs" "$e2e/e2e.mjs"
if ! CS_URL="http://127.0.0.1:$port" WORKSPACE=$ws TOKEN=$token SHOTS=$shots timeout 180 node "$e2e/e2e.mjs"; then
  echo "code-server log: $scratch/code-server.log; screenshots: $shots" >&2
  exit 1
fi
# The logs must be there to be searched (a missing folder would pass any grep), and must hold
# the extension's own output; text files only (-I: screenshots are pictures of the screen).
logs=$data/user/logs
if [ ! -d "$logs" ] || ! grep -rIqs "synergy" "$logs"; then
  record vscode false "VS Code's logs exist and hold the extension's output ($logs)"
  exit 1
fi
record vscode true "VS Code's logs exist and hold the extension's output"
if grep -rIqs -- "$token" "$logs"; then
  record vscode false "the token is in none of VS Code's logs"
  exit 1
fi
record vscode true "the token is in none of VS Code's logs"
rm -rf "$scratch"
