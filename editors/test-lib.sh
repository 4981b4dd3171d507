# Shared by the editor test scripts (sourced, not run): where tools are installed, the release
# binary, and a simulator on a free loopback port that is stopped when the script exits.
# Tools go to $SYNERGY_TOOLS (default target/editor-tools) so reruns reuse them.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${SYNERGY_TOOLS:-$repo/target/editor-tools}
bin=$repo/target/release/synergy-ls
mkdir -p "$tools"

# Logs and scratch folders of one run; kept on failure for reading, under target/.
scratch=$(mktemp -d "$repo/target/editor-test.XXXXXX")

# start_simulator TOKEN: starts `synergy-ls simulate` and exports SYNERGY_URL, SYNERGY_TOKEN and
# SYNERGY_CACHE_DIR (a cache folder of this run's own).
start_simulator() {
  local log=$scratch/simulator.log
  "$bin" simulate --port 0 --token "$1" >"$log" 2>&1 &
  sim_pid=$!
  trap 'kill $sim_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    SYNERGY_URL=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$log" | head -1 || true)
    [ -n "$SYNERGY_URL" ] && break
    sleep 0.1
  done
  if [ -z "$SYNERGY_URL" ]; then
    echo "the simulator did not start:" >&2
    cat "$log" >&2
    exit 1
  fi
  export SYNERGY_URL SYNERGY_TOKEN=$1
  # This run's own persisted job cache: another run's simulator may have had this port.
  export SYNERGY_CACHE_DIR=$scratch/job-cache
}

# record SUITE OK WHAT: one check's result as a JSON line in $SYNERGY_EDITOR_RESULTS (when set),
# which scripts/test counts; OK is true or false. The editors' own test scripts write the same
# lines. Printed as `ok   WHAT` / `FAIL WHAT` for people.
record() {
  local suite=$1 ok=$2 what=$3
  if [ "$ok" = true ]; then echo "ok   $what" >&2; else echo "FAIL $what" >&2; fi
  if [ -n "${SYNERGY_EDITOR_RESULTS:-}" ]; then
    python3 -c 'import json,sys; print(json.dumps({"suite": sys.argv[1], "ok": sys.argv[2] == "true", "what": sys.argv[3]}))' \
      "$suite" "$ok" "$what" >>"$SYNERGY_EDITOR_RESULTS"
  fi
}

# apt_install PACKAGE...: installs Debian packages (CI runs as root), updating the lists once.
apt_install() {
  if [ ! -e "$tools/.apt-updated" ]; then
    apt-get update -qq && touch "$tools/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
