# Shared by Scripts/run and Scripts/test: install what is missing, build.
# Sourced, not run.

PATCHBAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Installs the named Debian packages that are not installed yet (apt-get only when needed).
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "patchbay: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
      echo "patchbay: error: missing packages (${missing[*]}); run as root" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Builds the patchbay binary (release unless PATCHBAY_DEBUG=1) and prints its path.
build_patchbay() {
  local config=release
  [ "${PATCHBAY_DEBUG:-0}" = 1 ] && config=debug
  (cd "$PATCHBAY_ROOT" && swift build -c "$config" --product patchbay >&2)
  echo "$PATCHBAY_ROOT/.build/$config/patchbay"
}
