#!/usr/bin/env bash
# Installs the gVisor runtime Paddock's gvisor provider needs into .tools/bin/runsc (git-ignored), without
# touching the host's apt sources: Debian 12's runsc (0.0~20221219) cannot contain a fork bomb (it ignores
# RLIMIT_NPROC and its sentry panics when the host pids ceiling is hit), Debian 13's can. The .deb is a
# static binary with no dependencies; its SHA256 is pinned to the one in trixie's signed Packages index.
# Runs only when the tools dir lacks this version, so repeated `make` runs stay offline.
set -euo pipefail

version="0.0~20240729.0-4+b7"
sha256="3c25a5130dfac2f71237d5baad56ac86a255de87a0400f11b36a555156dc325a"
url="http://deb.debian.org/debian/pool/main/g/golang-gvisor-gvisor/runsc_${version}_amd64.deb"

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools/bin"
stamp="$tools/runsc.version"

if [ -x "$tools/runsc" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "paddock: no pinned runsc for $(uname -m); the gvisor provider uses the runsc on PATH (--runsc PATH)" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading runsc $version"
if ! curl -fsSL --retry 3 -o "$work/runsc.deb" "$url"; then
  echo "paddock: could not download $url; the gvisor provider uses the runsc on PATH until this succeeds" >&2
  exit 0
fi
actual="$(sha256sum "$work/runsc.deb" | cut -d' ' -f1)"
if [ "$actual" != "$sha256" ]; then
  echo "paddock: runsc download has SHA256 $actual, expected $sha256; not installing it" >&2
  exit 1
fi
dpkg-deb -x "$work/runsc.deb" "$work/extracted"
mkdir -p "$tools"
install -m 0755 "$work/extracted/usr/bin/runsc" "$tools/runsc.new"
mv -f "$tools/runsc.new" "$tools/runsc"
echo "$version" > "$stamp"
echo "installed $("$tools/runsc" --version | head -1) at $tools/runsc"
