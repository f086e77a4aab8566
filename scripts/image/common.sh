# Shared by the image build helpers (sourced, not run): paths, logging, the
# board profile loader. Every helper takes its inputs from environment
# variables set by scripts/build-image, so each step can also be re-run alone.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# Downloads and intermediate trees live in .cache/ (git-ignored) and are
# reused on rebuild; only out/<board>/ holds the finished image.
CACHE=${CACHE:-$REPO/.cache/image}
# Downloads are shared by every clone on the machine (a fresh CI clone too):
# /var/cache/sitelink when writable, else inside .cache/. Never required: an
# empty or missing cache only means downloading again.
if [ -z "${SITELINK_CACHE:-}" ]; then
  SITELINK_CACHE=/var/cache/sitelink
  mkdir -p "$SITELINK_CACHE" 2>/dev/null && [ -w "$SITELINK_CACHE" ] || SITELINK_CACHE=$CACHE
fi
export SITELINK_CACHE
# Debian .debs, named as in the archive's pool and checked against its sha256.
DEB_CACHE=${DEB_CACHE:-$SITELINK_CACHE/debs}
APT_ROOT=${APT_ROOT:-$SITELINK_CACHE/apt}

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

# The board's Debian release, with its own apt state: arm64 package lists for
# BOARD_SUITE kept apart from the host's (the build host may run another
# release, e.g. Debian 12 building a Debian 13 image). `apt-cache` and
# `apt-get download` read it through APT_CONFIG; nothing arm64 is ever
# installed. The lists are refreshed when older than SITELINK_APT_MAX_AGE
# seconds (default 6 h; 0 = always, -1 = never, e.g. in a container layer
# that just refreshed them).
target_apt() {
  local suite=${BOARD_SUITE:-trixie} mirror=${SITELINK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local security=${SITELINK_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  local a=$APT_ROOT/$suite-arm64
  [ -f "$key" ] || die "missing $key (apt-get install debian-archive-keyring)"
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d" "$a/preferences.d" "$a/apt.conf.d"
  printf 'deb [signed-by=%s] %s %s main\n' "$key" "$mirror" "$suite" "$key" "$mirror" "$suite-updates" \
    "$key" "$security" "$suite-security" > "$a/sources.list.new"
  cmp -s "$a/sources.list.new" "$a/sources.list" && rm "$a/sources.list.new" ||
    { mv "$a/sources.list.new" "$a/sources.list"; rm -f "$a/updated"; }
  [ -f "$a/status" ] || : > "$a/status"
  cat > "$a/apt.conf" <<APT
Dir::State "$a";
Dir::State::Lists "$a/lists";
Dir::State::status "$a/status";
Dir::Cache "$a/cache";
Dir::Etc::SourceList "$a/sources.list";
Dir::Etc::SourceParts "$a/sources.list.d";
Dir::Etc::Preferences "$a/preferences";
Dir::Etc::PreferencesParts "$a/preferences.d";
Dir::Etc::Parts "$a/apt.conf.d";
APT::Architecture "arm64";
APT::Architectures "arm64";
Acquire::Languages "none";
APT
  export APT_CONFIG=$a/apt.conf
  local max=${SITELINK_APT_MAX_AGE:-21600} now age
  now=$(date +%s)
  age=$(( now - $(stat -c %Y "$a/updated" 2>/dev/null || echo 0) ))
  if [ ! -f "$a/updated" ] || { [ "$max" -ge 0 ] && [ "$age" -gt "$max" ]; }; then
    log "refreshing Debian $suite arm64 package lists ($a)"
    apt-get update -q=2 || { sleep 5; apt-get update -q=2; } || die "apt-get update for $suite arm64 failed (twice)"
    touch "$a/updated"
  fi
}

# Human size of a file or directory, in MiB with one decimal.
mib() { du -sb "$1" | awk '{ printf "%.1f MiB", $1 / 1048576 }'; }

# The compressor command for an image part (reads stdin, writes stdout), and
# the file extension it gives. Deterministic: one thread, fixed settings.
#   xz:   the kernel's decoder checks CRC32 only (not xz's default CRC64); the
#         ARM64 branch filter (BCJ, XZ_DEC_ARM64 in Debian's 6.12 kernel)
#         makes arm64 code ~10% smaller; a 32 MiB window keeps the boot-time
#         decoder's memory small.
#   zstd: level 19, 8 MiB window.
#   gzip: -9, no name or time stored.
#   lz4:  -12, the legacy frame format (the only one the kernel's unpacker reads).
#   deferred: not unpacked by the kernel: xz (as above, 8 MiB window) in blocks
#         of at most 26 MiB whose sizes the headers record (xz's multithreaded
#         format: the same bytes whatever the thread count), which the board's
#         xz (Debian's xz-utils) decodes on both CPUs at once, during the boot
#         (scripts/image/pack-initramfs, /usr/lib/sitelink/unpack-deferred).
#   deferred-zstd: deferred too, for the largest code (libnode): the ARM64
#         branch filter (scripts/image/bcj-arm64.mjs, xz's filter: zstd has
#         none), then zstd at its strongest with a 16 MiB window. ~15% more
#         bytes than xz there, but the board's decoder (scripts/image/
#         unbcj-zstd.c, Debian's libzstd) unpacks it about five times faster
#         under emulation, and the boot waits for libnode before Node starts.
compressor_cmd() {
  case $1 in
    xz) echo "xz -T1 -c --check=crc32 --arm64 --lzma2=preset=9,dict=32MiB" ;;
    deferred) echo "xz -T2 --block-size=26MiB -c --check=crc32 --arm64 --lzma2=preset=9,dict=8MiB" ;;
    deferred-zstd) echo "zstd -q -c --ultra -22 --zstd=wlog=24 --single-thread" ;;   # after compress's filter
    zstd) echo "zstd -q -c -19 --single-thread" ;;
    gzip) echo "gzip -9 -n -c" ;;
    lz4) echo "lz4 -q -c -l -12" ;;
    *) die "unknown compressor '$1' (xz, zstd, gzip, lz4, deferred or deferred-zstd)" ;;
  esac
}
# Compresses stdin to stdout with COMPRESSOR: its filter, if it has one, then
# compressor_cmd.
compress() { # COMPRESSOR
  local cmd
  cmd=$(compressor_cmd "$1")
  case $1 in
    # shellcheck disable=SC2086
    deferred-zstd) node "$REPO/scripts/image/bcj-arm64.mjs" | $cmd ;;
    # shellcheck disable=SC2086
    *) $cmd ;;
  esac
}
compressor_ext() {
  case $1 in xz|deferred) echo xz ;; zstd) echo zst ;; deferred-zstd) echo bcj.zst ;; gzip) echo gz ;; lz4) echo lz4 ;; *) die "unknown compressor '$1'" ;; esac
}
# The initramfs's compression: "DEFAULT [COMPONENT=COMPRESSOR]..." (the
# components of scripts/image/pack-initramfs, e.g. "xz base=zstd"). Prints the
# compressor of COMPONENT.
initramfs_compressor() { # SPEC COMPONENT
  local w c=${1%% *}
  for w in ${1#"$c"}; do [ "${w%%=*}" = "$2" ] && c=${w#*=}; done
  echo "$c"
}
# The initramfs's file name extension: DEFAULT's, also when some components
# use another compressor (the kernel tells each archive's format by its magic
# bytes). Boards already in the field accept only initramfs.cpio.(xz|zst|gz)
# in an upgrade bundle (firmware/src/upgrade/verify.ts), so the name stays one
# of those.
initramfs_ext() { # SPEC
  local w
  for w in ${1#"${1%% *}"}; do
    [[ $w == *=* ]] || die "initramfs compression '$1': '$w' is not COMPONENT=COMPRESSOR"
    compressor_ext "${w#*=}" >/dev/null || return 1
  done
  compressor_ext "${1%% *}"
}
