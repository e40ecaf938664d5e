# Shared set-up for scripts/test and scripts/demo (sourced, not run):
# install missing Debian packages, then configure and build into build/.

DARKMATTER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$DARKMATTER_ROOT/build}
JOBS=${JOBS:-$(nproc)}

# Lists the packages of scripts/debian-packages.txt that are not installed.
missing_packages() {
  local pkg status
  while read -r pkg; do
    pkg=${pkg%%#*}
    pkg=${pkg//[[:space:]]/}
    [ -z "$pkg" ] && continue
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || printf '%s\n' "$pkg"
  done < "$DARKMATTER_ROOT/scripts/debian-packages.txt"
}

# Installs whatever is missing (apt-get update first); not root -> print the line, exit 2.
ensure_packages() {
  local missing
  missing=$(missing_packages | tr '\n' ' ')
  missing=${missing% }
  [ -z "$missing" ] && return 0
  local line="apt-get update && apt-get install -y --no-install-recommends $missing"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages; as root run:" >&2
    echo "  $line" >&2
    exit 2
  fi
  echo "installing missing packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
}

# Installs report/'s pinned npm packages (the plotting libraries report.html inlines and the
# browser test's driver) with `npm ci` when report/node_modules is missing or older than
# report/package-lock.json. Without npm it warns and carries on (reports then fail clearly).
ensure_report_packages() {
  local report="$DARKMATTER_ROOT/report"
  [ -f "$report/package-lock.json" ] || return 0
  if [ -f "$report/node_modules/.package-lock.json" ] &&
     [ ! "$report/package-lock.json" -nt "$report/node_modules/.package-lock.json" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "warning: npm not found; report.html and its test need 'npm ci --prefix report'" \
      "(Node.js >= 18 with npm)" >&2
    return 0
  fi
  echo "installing report/ npm packages (npm ci)"
  (cd "$report" && npm ci --no-audit --no-fund --loglevel=error)
}

# Configures (first time only) and builds the given targets (default: all).
build_project() {
  ensure_report_packages
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$DARKMATTER_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  fi
  if [ $# -eq 0 ]; then
    cmake --build "$BUILD_DIR" -j "$JOBS"
  else
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "$@"
  fi
}
