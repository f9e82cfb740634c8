#!/usr/bin/env bash
# run-local.sh DIR [N] — a three-node aperture cluster on this machine, for
# trying cluster mode and for the failover tests.
#
#   run-local.sh DIR      starts nodes 1, 2 and 3 on 127.0.0.1 (free ports,
#                         chosen once and kept in DIR/ports), data in
#                         DIR/node1..3/data; initialises the cluster the
#                         first time (APERTURE_PARTITIONS, default 16); and
#                         returns once all three serve.
#   run-local.sh DIR N    starts node N again on the same data and ports,
#                         and returns once it serves.
#
# Each node's base URL is written to DIR/nodeN/url, its PID to
# DIR/nodeN/pid, its log to DIR/nodeN/log. Stop a node with
# kill $(cat DIR/nodeN/pid). The binary is $APERTURE (default: the
# repository's bin/aperture, else aperture on the PATH). Every node is
# started with this script's environment, so any other setting reaches
# all three as its APERTURE_* variable (APERTURE_RATE_LIKES=off, ...).
set -euo pipefail

dir=${1:?usage: run-local.sh DIR [N]}
only=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
bin=${APERTURE:-}
if [[ -z $bin ]]; then
  if [[ -x $here/../../bin/aperture ]]; then bin=$here/../../bin/aperture; else bin=aperture; fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

if [[ ! -f $dir/ports ]]; then
  for i in 1 2 3; do echo "$(freeport) $(freeport)"; done >"$dir/ports"
fi
if [[ ! -f $dir/secret ]]; then
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret"
fi
secret=$(cat "$dir/secret")
mapfile -t ports <"$dir/ports"
routes=""
for i in 1 2 3; do
  set -- ${ports[$((i - 1))]}
  routes+="${routes:+,}127.0.0.1:$2"
done

start() {
  local i=$1
  set -- ${ports[$((i - 1))]}
  local http=$1 clus=$2 nd=$dir/node$i
  mkdir -p "$nd/data"
  APERTURE_CLUSTER_SECRET=$secret "$bin" serve --cluster --node "node$i" --data "$nd/data" \
    --addr "127.0.0.1:$http" --cluster-listen "127.0.0.1:$clus" --cluster-routes "$routes" \
    --log-level "${APERTURE_LOG_LEVEL:-info}" >>"$nd/log" 2>&1 &
  echo $! >"$nd/pid"
  echo "http://127.0.0.1:$http" >"$nd/url"
}

serving() { # node i answers /readyz
  curl -fsS -o /dev/null --max-time 2 "$(cat "$dir/node$1/url")/readyz" 2>/dev/null
}

wait_serving() {
  local i=$1 deadline=$((SECONDS + ${APERTURE_WAIT:-120}))
  until serving "$i"; do
    if ! kill -0 "$(cat "$dir/node$i/pid")" 2>/dev/null; then
      echo "run-local: node $i stopped; its log:" >&2
      tail -20 "$dir/node$i/log" >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "run-local: node $i does not serve; its log:" >&2
      tail -20 "$dir/node$i/log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

if [[ -n $only ]]; then
  start "$only"
  wait_serving "$only"
  exit 0
fi

for i in 1 2 3; do start "$i"; done
if [[ ! -f $dir/initialised ]]; then
  deadline=$((SECONDS + 60))
  until APERTURE_CLUSTER_SECRET=$secret "$bin" cluster init --data "$dir/node1/data" \
    --partitions "${APERTURE_PARTITIONS:-16}" >"$dir/init.log" 2>&1; do
    if ((SECONDS > deadline)); then
      echo "run-local: the cluster could not be initialised:" >&2
      cat "$dir/init.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  touch "$dir/initialised"
fi
for i in 1 2 3; do wait_serving "$i"; done
echo "three nodes serve: $(cat "$dir/node1/url") $(cat "$dir/node2/url") $(cat "$dir/node3/url")"
