#!/usr/bin/env bash
# Installs what Paddock needs on a Debian host, only when something is missing, so repeated `make` runs
# stay fast and offline. Needs root (apt-get) on the first run.
set -euo pipefail

# command -> Debian package that provides it
declare -A needed=(
  [runc]=runc          # the default OCI runtime (cgroup v1/hybrid hosts)
  [crun]=crun          # used where the host is pure cgroup v2
  [runsc]=runsc        # gVisor, measured by `paddock bench`
  [bwrap]=bubblewrap   # measured by `paddock bench` (runtm's local engine)
  [socat]=socat        # measured by `paddock bench`: the floor of a relay in C, under previews
  [ip]=iproute2
  [sqlite3]=sqlite3
  [debootstrap]=debootstrap   # template bases: debian:SUITE
  [umoci]=umoci               # template bases: oci:PATH (OCI image layouts)
  [skopeo]=skopeo             # template bases: oci:PATH (docker save tarballs)
  [git]=git                   # repository sessions: host-side clone, diff, submit, merge
  [chromium]=chromium         # the web UI's browser tests (headless, driven by Playwright)
  [promtool]=prometheus       # the metrics tests: a real Prometheus scrapes a test server; alert rules checked
  [tmux]=tmux                 # terminal tests: `paddock top` driven as a person would (send-keys, capture-pane)
  [strace]=strace             # durability tests: a layer is synced before it is published (a server's own calls)
)
missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# Headers GRDB builds against, and libseccomp the runtimes use.
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
dpkg -s libseccomp2 >/dev/null 2>&1 || missing+=(libseccomp2)
# The tests build a one-binary OCI image from a static busybox.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "paddock: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
  echo "paddock: the Swift toolchain is missing; install Swift 6.x (expected at /opt/swift)" >&2
  exit 1
fi
