#!/usr/bin/env bash
# Downloads Debian packages that carry labelled sound recordings (apt-get download, no
# install) into assets/sound-packages/debs/ and extracts each to assets/sound-packages/<pkg>/.
# Idempotent: a package already extracted (marker file .extracted) is skipped.
# Usage: scripts/fetch-sound-packages.sh [PKG...]   (default: the packages the dataset uses)
set -euo pipefail
cd "$(dirname "$0")/.."

default_pkgs=(
  0ad-data                # 1.3 GB; animals, weather, water, footsteps, tools, voices
  wesnoth-1.16-data       # 139 MB; animals, weapons, fire, weather, bells
  widelands-data          # 363 MB; birds, farm animals, tools, crafts
  hydrogen-drumkits       # 136 MB; drum hits
  sonic-pi-samples        # 21 MB; drums, guitar, piano, bells, ambience
  sound-theme-freedesktop # 0.4 MB; desktop event sounds (bell, phone, camera)
  fluid-soundfont-gm      # 114 MB; GM soundfont for the rendered instrument clips
)
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=("${default_pkgs[@]}")

root=assets/sound-packages
mkdir -p "$root/debs"
updated=0
for p in "${pkgs[@]}"; do
  if [ -f "$root/$p/.extracted" ]; then
    echo "fetch-sound-packages: $p already extracted"
    continue
  fi
  deb=$(ls "$root/debs/${p}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    size=$(apt-cache show "$p" 2>/dev/null | awk '/^Size:/{print $2; exit}' || true)
    if [ -z "$size" ] && [ $updated -eq 0 ]; then
      sudo=""
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      $sudo apt-get update -q >/dev/null
      updated=1
      size=$(apt-cache show "$p" 2>/dev/null | awk '/^Size:/{print $2; exit}' || true)
    fi
    if [ -z "$size" ]; then
      echo "fetch-sound-packages: package $p is not in the apt archive" >&2
      exit 1
    fi
    echo "fetch-sound-packages: downloading $p ($((size / 1048576)) MiB)"
    start=$(date +%s)
    (cd "$root/debs" && apt-get download -q "$p" >/dev/null)
    echo "fetch-sound-packages: $p downloaded in $(($(date +%s) - start)) s"
    deb=$(ls "$root/debs/${p}"_*.deb | head -n1)
  fi
  rm -rf "$root/$p.partial"
  mkdir -p "$root/$p.partial"
  dpkg-deb -x "$deb" "$root/$p.partial"
  # 0 A.D. keeps its sounds inside mods/*/*.zip: unpack their audio/ folders beside them.
  find "$root/$p.partial" -path '*/games/0ad/mods/*' -name '*.zip' -print0 |
    while IFS= read -r -d '' z; do
      python3 - "$z" <<'PY'
import os, sys, zipfile
z = sys.argv[1]
dest = os.path.join(os.path.dirname(z), "unpacked")
with zipfile.ZipFile(z) as f:
    for m in f.infolist():
        if m.filename.startswith("audio/") and not m.is_dir():
            f.extract(m, dest)
PY
    done
  rm -rf "$root/$p"
  mv "$root/$p.partial" "$root/$p"
  touch "$root/$p/.extracted"
  echo "fetch-sound-packages: $p extracted to $root/$p"
done
