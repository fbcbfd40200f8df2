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

# Installs, as root, what the Swift toolchain (unpacked from swift.org into the PATH) needs
# to build here and that a minimal Debian lacks: git (SwiftPM fetches the dependencies),
# binutils (ld.gold), the libgcc-N-dev of the system's GCC runtime (crtbeginS.o, -lgcc),
# and the libraries swift-frontend links (libedit2, libncurses6). Found in a debootstrap'ed
# bookworm: without them `swift build` cannot link its own manifest. Not root: left as is.
ensure_swift_build_packages() {
  [ "$(id -u)" -eq 0 ] || return 0
  local gcc_major
  gcc_major="$(dpkg-query -W -f='${Version}' libgcc-s1 2>/dev/null | sed -n 's/^\([0-9]*\)\..*/\1/p')"
  ensure_packages git binutils libedit2 libncurses6 ${gcc_major:+libgcc-$gcc_major-dev}
}

# Builds the patchbay binary (release unless PATCHBAY_DEBUG=1) and prints its path.
build_patchbay() {
  local config=release
  [ "${PATCHBAY_DEBUG:-0}" = 1 ] && config=debug
  ensure_swift_build_packages
  (cd "$PATCHBAY_ROOT" && swift build -c "$config" --product patchbay >&2)
  echo "$PATCHBAY_ROOT/.build/$config/patchbay"
}

# Writes the shell completion scripts BINARY generates (ArgumentParser, from its commands):
# bash's to BASH_FILE, zsh's to ZSH_FILE, fish's to FISH_FILE, mode 0644, folders made.
write_completions() {
  local binary="$1" shell target
  shift
  for shell in bash zsh fish; do
    target="$1"
    shift
    mkdir -p "$(dirname "$target")"
    "$binary" --generate-completion-script "$shell" > "$target.new"
    chmod 0644 "$target.new"
    mv "$target.new" "$target"
  done
}
