# Shared by the image build helpers (sourced, not run): paths, logging, the
# board profile loader. Every helper takes its inputs from environment
# variables set by scripts/build-image, so each step can also be re-run alone.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# Downloads and intermediate trees live in .cache/ (git-ignored) and are
# reused on rebuild; only out/<board>/ holds the finished image.
CACHE=${CACHE:-$REPO/.cache/image}
DEB_CACHE=${DEB_CACHE:-$CACHE/debs}

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { printf '[build-image] error: %s\n' "$*" >&2; exit 1; }

# Loads board/<name>/profile.sh after board/common/profile.sh (defaults).
load_board() {
  local board=$1
  [ -f "$REPO/board/$board/profile.sh" ] || die "unknown board '$board' (no board/$board/profile.sh)"
  # shellcheck source=/dev/null
  . "$REPO/board/common/profile.sh"
  # shellcheck source=/dev/null
  . "$REPO/board/$board/profile.sh"
  BOARD=$board
  # The helpers run as child processes: hand them the runtime settings.
  export BOARD
  local v
  for v in $(compgen -v BOARD_RT_); do export "${v?}"; done
}

# arm64 package lists beside the host's, for `apt-cache depends pkg:arm64` and
# `apt-get download pkg:arm64` (nothing arm64 is ever installed). Without them
# apt-cache knows no arm64 package and the dependency closure silently stays
# the seed list, so the resolver and the fetcher both call this first.
ensure_arm64_lists() {
  dpkg --print-foreign-architectures | grep -qx arm64 && return 0
  [ "$(id -u)" -eq 0 ] || die "run as root once: dpkg --add-architecture arm64 && apt-get update"
  log "adding arm64 as a foreign dpkg architecture (package lists only)"
  dpkg --add-architecture arm64
  apt-get update -qq
}

# Human size of a file or directory, in MiB with one decimal.
mib() { du -sb "$1" | awk '{ printf "%.1f MiB", $1 / 1048576 }'; }
