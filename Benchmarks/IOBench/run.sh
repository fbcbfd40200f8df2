#!/usr/bin/env bash
# Runs iobench for every port kind and variant: IOBENCH_SECONDS (default 3) per run,
# IOBENCH_REPS (default 3) repetitions, prints every run and then the medians.
# Must run as root. Makes namespaces pbio-*, TAPs pbio-t*, veths pbio-v*; removes all on exit.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/run.sh"
STATE="${IOBENCH_STATE:-/tmp/pbio-state}"
BIN="$STATE/iobench"

ns() { local n="$1"; shift; ip netns exec "$n" "$@"; }

# Called by iobench (IOBENCH_SETUP) once its descriptors are open: wire the links, start the load.
if [ "${1:-}" = __setup ]; then
  kind="$2"
  if [ "$kind" = tap ]; then
    ip link set pbio-ta netns pbio-a
    ip link set pbio-tb netns pbio-b
    a=pbio-ta; b=pbio-tb
  else
    a=pbio-va1; b=pbio-vb1
  fi
  ns pbio-a ip addr add 10.77.0.1/24 dev "$a"
  ns pbio-a ip link set "$a" up
  ns pbio-b ip addr add 10.77.0.2/24 dev "$b"
  ns pbio-b ip link set "$b" up
  mac_b="$(ns pbio-b cat "/sys/class/net/$b/address")"
  ns pbio-a ip neigh replace 10.77.0.2 lladdr "$mac_b" dev "$a" nud permanent
  # exec: the recorded pid is the load process itself (ip netns exec and taskset exec too)
  (exec ip netns exec pbio-b taskset -c 0 "$BIN" hold 10.77.0.2 </dev/null >/dev/null 2>&1) &
  echo $! >> "$STATE/pids"
  (exec ip netns exec pbio-a taskset -c 0 "$BIN" blast 10.77.0.1 10.77.0.2 </dev/null >/dev/null 2>&1) &
  echo $! >> "$STATE/pids"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "run.sh: run as root" >&2; exit 1; }
# shellcheck source=/dev/null
source "$HERE/../../Scripts/lib.sh"
ensure_packages gcc libc6-dev liburing-dev iproute2 util-linux procps

SECS="${IOBENCH_SECONDS:-3}"
REPS="${IOBENCH_REPS:-3}"

# The load processes are not our children (iobench's setup started them): kill by recorded
# pid, then anything still inside our namespaces, and wait until they are gone.
stop_load() {
  local pid n i
  if [ -f "$STATE/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$STATE/pids"
    rm -f "$STATE/pids"
  fi
  for n in pbio-a pbio-b; do
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    for i in $(seq 50); do
      [ -z "$(ip netns pids "$n" 2>/dev/null)" ] && break
      sleep 0.1
    done
  done
}
cleanup() {
  set +e
  [ -n "${BENCH_PID:-}" ] && kill "$BENCH_PID" 2>/dev/null && wait "$BENCH_PID" 2>/dev/null
  stop_load
  for n in pbio-a pbio-b; do ip netns del "$n" 2>/dev/null; done
  ip link del pbio-va0 2>/dev/null
  ip link del pbio-vb0 2>/dev/null
  rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$STATE"; mkdir -p "$STATE"
gcc -O2 -Wall -Wextra -o "$BIN" "$HERE/iobench.c" -luring

make_namespaces() {
  stop_load
  for n in pbio-a pbio-b; do
    ip netns del "$n" 2>/dev/null || true
    ip netns add "$n"
    ns "$n" ip link set lo up
    ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
}

run_one() { # kind variant A B
  local out
  : > "$STATE/pids"
  IOBENCH_SETUP="$SELF __setup $1" taskset -c 1 "$BIN" forward "$1" "$2" "$3" "$4" "$SECS" > "$STATE/out" &
  BENCH_PID=$!
  wait "$BENCH_PID" || { echo "run.sh: iobench $1 $2 failed" >&2; BENCH_PID=; return 1; }
  BENCH_PID=
  stop_load
  out="$(cat "$STATE/out")"
  echo "$out"
  echo "$out" >> "$STATE/all"
}

echo "# $(date -u +%FT%TZ) kernel $(uname -r), $(nproc) CPUs, ${SECS}s x ${REPS}; load on CPU 0, forwarder on CPU 1"
: > "$STATE/all"
for rep in $(seq "$REPS"); do
  for v in rw uring fixed recvms readms; do
    make_namespaces # TAPs die with iobench; the netns is re-made so each run starts clean
    run_one tap "$v" pbio-ta pbio-tb
  done
  for v in mmsg recvms fixed rw uring; do
    make_namespaces
    ip link add pbio-va0 type veth peer name pbio-va1 netns pbio-a
    ip link add pbio-vb0 type veth peer name pbio-vb1 netns pbio-b
    for l in pbio-va0 pbio-vb0; do
      sysctl -qw "net.ipv6.conf.$l.disable_ipv6=1"
      ip link set "$l" up
    done
    run_one pkt "$v" pbio-va0 pbio-vb0
    ip link del pbio-va0; ip link del pbio-vb0
  done
done

echo "# medians: kind variant fps us/frame"
awk '$1 == "RESULT" { k = $2 " " $3; n[k]++; f[k, n[k]] = $6; u[k, n[k]] = $7; order[k] = NR }
     $1 == "UNSUPPORTED" && !(($2 " " $3) in n) { un[$2 " " $3] = $0 }
     function med(a, k, c,   i, j, t, v) { for (i = 1; i <= c; i++) v[i] = a[k, i]
       for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
       return v[int((c + 1) / 2)] }
     END { for (k in n) printf "%s %d %.2f\n", k, med(f, k, n[k]), med(u, k, n[k]); for (k in un) print un[k] }' \
  "$STATE/all" | sort
