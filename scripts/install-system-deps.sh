#!/usr/bin/env bash
# Install the Debian packages vidqa needs, if missing.
#   scripts/install-system-deps.sh demo   -> what `make demo` needs (tesseract OCR)
#   scripts/install-system-deps.sh test   -> plus what the tests need (espeak-ng, Chromium, fonts)
# As root it runs `apt-get update` once and installs; otherwise it says exactly what to run.
set -euo pipefail
profile=${1:-demo}

packages=(tesseract-ocr tesseract-ocr-eng)
if [ "$profile" = test ]; then
  packages+=(espeak-ng chromium chromium-driver fonts-dejavu-core)
fi

# pip itself (Debian's python3 comes without it)
python=${PYTHON:-python3}
if ! "$python" -m pip --version >/dev/null 2>&1; then
  packages+=(python3-pip python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tests also take real media out of Debian packages with `apt-get download`, which needs package lists.
need_lists=0
if [ "$profile" = test ] && ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  need_lists=1
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_lists -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "vidqa needs these Debian packages: ${missing[*]}" >&2
    echo "Run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  else
    echo "The tests fetch Debian packages with 'apt-get download': run 'apt-get update' as root first." >&2
  fi
  exit 1
fi
echo "Installing Debian packages: ${missing[*]:-(package lists only)}"
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
