#!/usr/bin/env bash
# Install NoteLens into ./.venv, with the Debian packages its tests and benchmarks use
# (CJK and Latin fonts to render test images, Tesseract as the OCR benchmark's baseline,
# PostgreSQL for the store and job tests, Chromium for the web page's browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(fonts-wqy-microhei fonts-wqy-zenhei fonts-liberation fonts-dejavu-core
                 tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng
                 postgresql chromium)
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
  # The tests use PostgreSQL on 127.0.0.1:5432 as user postgres without a password (trust),
  # and create their own databases. Start the cluster Debian made, and allow that if needed.
  if ! pg_isready -q -h 127.0.0.1 -p 5432 && command -v pg_lsclusters >/dev/null 2>&1; then
    version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q "notelens tests" "$hba"; then
      $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust  # notelens tests' "$hba"
    fi
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" \
      | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE test"
  else
    echo "install.sh: PostgreSQL is not answering on 127.0.0.1:5432; the tests need it" >&2
  fi
else
  echo "install.sh: no apt-get here; install CJK fonts, tesseract and PostgreSQL yourself" >&2
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "installed: .venv/bin/notelens" >&2
