#!/usr/bin/env bash
# Installs the Debian packages in scripts/apt-packages.txt that are missing, idempotently,
# and checks the Rust toolchain. Runs as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/apt-packages.txt | grep -v '^$')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup-system: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

need_rust=1.90
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup-system: cargo not found. soundscribe needs Rust >= $need_rust (rustup.rs);" \
       "Debian 12's packaged cargo is too old." >&2
  exit 1
fi
have_rust=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need_rust" "$have_rust" | sort -V | head -n1)" != "$need_rust" ]; then
  echo "setup-system: rustc $have_rust is older than $need_rust; run 'rustup update'" >&2
  exit 1
fi
