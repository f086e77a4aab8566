# Functions for scripts/demo (sourced, not run). Expects REPO, T (the run's
# private temp dir) and P (the namespace prefix).

BOARD=qemu-virt-arm64

say() { printf '\n== %s\n' "$*"; }

# True when out/<board>/manifest.json is newer than everything the image is made from.
image_fresh() {
  local m=$REPO/out/$BOARD/manifest.json
  [ -f "$m" ] || return 1
  [ -z "$(cd "$REPO" && find board scripts/build-image scripts/image native/src native/binding \
    native/CMakeLists.txt firmware/src scripts/bundle.mjs -newer "$m" -print -quit 2>/dev/null)" ]
}

# First free TCP port on the host's loopback from $1 upwards.
free_port() {
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

# Runs a command on the board over SSH (inside PREFIX-wan, where QEMU's forward is).
board_ssh() {
  ip netns exec "$P-wan" ssh -p 2222 -i "$T/id_ed25519" -o BatchMode=yes -o ConnectTimeout=20 \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 "$@"
}

# sitelinkctl against the HQ gateway's control socket.
hq_ctl() {
  ip netns exec "$P-hq" node "$REPO/dist/sitelinkctl.mjs" --socket "$T/hq-ctl/control.sock" "$@"
}

# Waits up to $2 s for a line matching $1 in file $3.
wait_file() {
  local re=$1 n=$2 f=$3
  while [ "$n" -gt 0 ]; do
    grep -qE "$re" "$f" 2>/dev/null && return 0
    sleep 1; n=$((n - 1))
  done
  return 1
}

# One ping from the HQ LAN host to the board's LAN address.
hq_lan_ping() { ip netns exec "$P-lan" ping -n -c "${1:-1}" -i 0.3 -W 2 10.1.0.1; }
