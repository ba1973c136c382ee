#!/usr/bin/env bash
# Fetches real recordings for the demo from Debian: sound-theme-freedesktop's Ogg Vorbis
# sounds (bell, alarm clock, phone, ...), extracted without installing the package.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=assets/demo-audio
[ -f "$dest/.complete" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q sound-theme-freedesktop >/dev/null 2>&1) || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >/dev/null
  (cd "$tmp" && apt-get download -q sound-theme-freedesktop >/dev/null)
}
dpkg-deb -x "$tmp"/sound-theme-freedesktop_*.deb "$tmp/x"
mkdir -p "$dest"
cp "$tmp"/x/usr/share/sounds/freedesktop/stereo/*.oga "$dest"/
cp "$tmp"/x/usr/share/doc/sound-theme-freedesktop/copyright "$dest"/COPYRIGHT
touch "$dest/.complete"
echo "fetch-demo-audio: $(ls "$dest"/*.oga | wc -l) recordings in $dest"
