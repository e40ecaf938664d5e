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

# Configures (first time only) and builds the given targets (default: all).
build_project() {
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$DARKMATTER_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  fi
  if [ $# -eq 0 ]; then
    cmake --build "$BUILD_DIR" -j "$JOBS"
  else
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "$@"
  fi
}
