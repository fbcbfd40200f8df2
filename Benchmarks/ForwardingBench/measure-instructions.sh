#!/usr/bin/env bash
# Instructions per frame of the forwarding decision, counted by valgrind (callgrind).
#
# `swift package benchmark` reports instructions through perf_events, which many VMs
# (this project's among them) do not expose. This script counts them exactly instead:
# it runs `ForwardingCount SCENARIO K` (the benchmark's own fixture and loop) under
# callgrind twice, with K1 and K2 frames, and divides the difference of the two
# totals by K2 - K1. Set-up (building the bridge, filling the table, checking the
# ring) is identical in both runs, so it cancels out. The `harness` scenario is the
# loop and the opaque consumer alone; "net" subtracts it.
#
# A third run per scenario collects only inside the measured loop
# (--toggle-collect) to show that malloc, free, swift_allocObject, swift_retain,
# swift_release and swift_beginAccess execute no instruction there, and to list
# the top functions by instructions.
#
# Usage: ./measure-instructions.sh [SCENARIO...]
#   SCENARIOs: access-256 access-10000 access-1000000 pop-10000 push-10000 batch-10000 (default: all)
# Needs valgrind and python3 (installs them when missing, which needs root). Takes a few minutes (the 1M-MAC set-up is slow under valgrind).

set -euo pipefail
cd "$(dirname "$0")"

k1=${K1:-100000}
k2=${K2:-300000}
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  scenarios=(access-256 access-10000 access-1000000 pop-10000 push-10000 batch-10000)
fi

# valgrind (callgrind, callgrind_annotate), installed when missing (as root).
source ../../Scripts/lib.sh
ensure_packages valgrind python3
swift build -c release --product ForwardingCount >&2
binary="$(swift build -c release --show-bin-path)/ForwardingCount"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# total SCENARIO K -> instructions of the whole run
total() {
  valgrind --tool=callgrind --callgrind-out-file="$work/total.out" "$binary" "$1" "$2" \
    >/dev/null 2>"$work/valgrind.log" || { cat "$work/valgrind.log" >&2; exit 1; }
  sed -n 's/^summary: //p' "$work/total.out"
}

per_frame() {  # SCENARIO -> instructions per frame, with 2 decimals
  local t1 t2
  t1=$(total "$1" "$k1")
  t2=$(total "$1" "$k2")
  python3 -c "print(f'{($t2 - $t1) / ($k2 - $k1):.2f}')"
}

# inside SCENARIO SYMBOL: calls made and top functions inside the measured loop only
inside() {
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$2" \
    --callgrind-out-file="$work/inside.out" "$binary" "$1" "$k1" \
    >/dev/null 2>"$work/valgrind.log" || { cat "$work/valgrind.log" >&2; exit 1; }
  python3 - "$work/inside.out" "$k1" <<'EOF'
import re, subprocess, sys
path, frames = sys.argv[1], int(sys.argv[2])
out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path], capture_output=True, text=True).stdout
total = None
byfunction = {}
for line in out.splitlines():
    m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
    if not m or (m.group(2) != "PROGRAM" and ":" not in m.group(2)): continue
    count = int(m.group(1).replace(",", ""))
    if m.group(2) == "PROGRAM":
        total = count
        continue
    # file:function [object]; callgrind splits a function by the source file of its lines
    function = m.group(2).rpartition(":")[2]
    byfunction[function] = byfunction.get(function, 0) + count
# Instructions executed inside the loop by the allocator and the reference counting
# entry points. (Callgrind's call counts are not used: an arc's count also includes
# the calls made on it during set-up, when collection was off.)
watched = ("malloc", "_int_malloc", "calloc", "realloc", "free", "_int_free", "swift_slowAlloc",
           "swift_allocObject", "swift_retain", "swift_release", "swift_bridgeObjectRetain",
           "swift_bridgeObjectRelease", "swift_beginAccess")
found = {n: c for n, c in byfunction.items() if n.split("@")[0] in watched}
print("    allocator / ARC / exclusivity entry points executed inside the loop:",
      ", ".join(f"{n} ({c} instructions)" for n, c in found.items()) if found else "none")
rows = sorted(byfunction.items(), key=lambda item: -item[1])[:8]
demangled = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(r[0] for r in rows),
                           capture_output=True, text=True).stdout.splitlines()
print(f"    inside the loop: {total / frames:.1f} per frame; top functions (self instructions per frame, share):")
for (_, count), name in zip(rows, demangled):
    print(f"      {count / frames:8.1f}  {100 * count / total:5.1f}%  {name[:90]}")
EOF
}

harness=$(per_frame harness)
echo
echo "instructions per frame (callgrind, (total(K2) - total(K1)) / (K2 - K1), K1=$k1, K2=$k2)"
echo "  harness (loop + opaque consumer): $harness"
for scenario in "${scenarios[@]}"; do
  case "$scenario" in
    pop-*|push-*) symbol=pb_measured_forward_write ;;
    batch-*) symbol=pb_measured_forward_batch ;;
    *) symbol=pb_measured_forward ;;
  esac
  value=$(per_frame "$scenario")
  net=$(python3 -c "print(f'{$value - $harness:.2f}')")
  echo "  $scenario: $value per frame, net of harness $net"
  inside "$scenario" "$symbol"
done
