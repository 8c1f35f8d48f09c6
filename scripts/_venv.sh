# Sourced by scripts/run and scripts/test: make .venv with Python 3.11 and install the project.
# Usage: ensure_venv EXTRAS   (EXTRAS is "" or "[dev]")
ensure_venv() {
  local extras="$1" python="" stamp=".venv/.sidetrack-installed" want
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
    .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1
  fi
  # The editable install needs redoing only when the dependencies change: skipping it
  # keeps every start quick and free of pip's and setuptools' notices. An install
  # with [dev] also serves "" (scripts/run after scripts/test).
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if grep -qxF "$want .${extras}" "$stamp" 2>/dev/null \
    || { [ -z "$extras" ] && grep -qxF "$want .[dev]" "$stamp" 2>/dev/null; }; then
    return 0
  fi
  echo "Installing Sidetrack${extras} into .venv"
  # pip's and the build backend's notices (index locations, the editable-install box)
  # are kept in a log, shown only when the install fails.
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}" \
    >.venv/install.log 2>&1 \
    || ! .venv/bin/python -c "import django, environ, django_q, rest_framework"; then
    cat .venv/install.log >&2
    echo "Installing dependencies failed (log: .venv/install.log)." >&2
    exit 1
  fi
  echo "$want .${extras}" >"$stamp"
}
