#!/usr/bin/env bash
# Install NoteLens into ./.venv, with the Debian packages its tests and benchmarks use
# (CJK and Latin fonts to render test images, Tesseract as the OCR benchmark's baseline).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(fonts-wqy-microhei fonts-wqy-zenhei fonts-liberation fonts-dejavu-core
                 tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng)
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
else
  echo "install.sh: no apt-get here; install CJK fonts and tesseract yourself for the tests" >&2
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "installed: .venv/bin/notelens" >&2
