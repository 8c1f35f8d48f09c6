# Sourced by scripts/run and scripts/test: make .venv with Python 3.11 and install the project.
# Usage: ensure_venv EXTRAS   (EXTRAS is "" or "[dev]")
ensure_venv() {
  local extras="$1" python=""
  for candidate in "${PYTHON:-}" python3.11 python3; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
  if [ -z "$python" ]; then
    echo "Sidetrack needs Python 3.11 (set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $python"
    "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  echo "Installing Sidetrack${extras} into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}" \
    2>&1 | grep -v "^WARNING: Location" || true
  # pip's own failure must still stop us, whatever grep made of its output.
  .venv/bin/python -c "import django, environ, django_q, rest_framework" \
    || { echo "Installing dependencies failed." >&2; exit 1; }
}
