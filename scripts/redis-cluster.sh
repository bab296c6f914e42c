#!/usr/bin/env bash
# A local Redis Cluster of three masters (no replicas) for the tests of the Redis store on Cluster.
#   scripts/redis-cluster.sh start    start it (or find it running), print its nodes:
#                                     127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   scripts/redis-cluster.sh status   print its nodes if it is up (exit 0), else say so (exit 1)
#   scripts/redis-cluster.sh stop     shut down the nodes this script started, by port
#   scripts/redis-cluster.sh restart P  kill node P (SIGKILL, by the pid it wrote, as a crash) and
#                                     start it again with its cluster config, until every node
#                                     says cluster_state:ok (the tests of the
#                                     watch's failover, on a cluster of their own: REDIS_CLUSTER_DIR)
# The nodes listen on 127.0.0.1, ports 7101-7103 by default; when one of those is taken by
# something else, the next three free ports from 7104 up. REDIS_CLUSTER_PORTS="P1,P2,P3" chooses
# them (and fails if one is taken). Data (nothing is saved: no RDB, no AOF), logs and the node
# list live in REDIS_CLUSTER_DIR (default /tmp/sessionmanager-redis-cluster): `nodes` holds the
# line `start` prints, which test/helpers/cluster.ts reads when REDIS_CLUSTER_NODES is not set.
# Needs redis-server and redis-cli 7 (Debian's redis-server package). Stops nothing it did not
# start: `stop` shuts down a port only if that server's directory is this script's.
set -euo pipefail

dir=${REDIS_CLUSTER_DIR:-/tmp/sessionmanager-redis-cluster}
nodes_file="$dir/nodes"
ports_file="$dir/ports"
data="$dir/data"
WAIT_S=${WAIT_S:-30}

log() { printf '[redis-cluster] %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# Whether something listens on 127.0.0.1 port $1 (Bash's /dev/tcp, in a subshell).
listening() { ({ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null); }

cli() {
  local port=$1
  shift
  redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

# Whether the server on port $1 is one this script started: its working directory is ours.
ours() { [[ "$(cli "$1" config get dir | sed -n 2p)" == "$(cd "$data" 2>/dev/null && pwd -P)" ]]; }

# Whether every port of ports_file answers as our node and says cluster_state:ok.
up() {
  [[ -s "$ports_file" ]] || return 1
  local port
  for port in $(cat "$ports_file"); do
    ours "$port" || return 1
    cli "$port" cluster info | grep -q '^cluster_state:ok' || return 1
  done
}

nodes_line() {
  local port list=()
  for port in "$@"; do list+=("127.0.0.1:$port"); done
  local IFS=,
  printf '%s\n' "${list[*]}"
}

# The three ports to use: REDIS_CLUSTER_PORTS, else 7101-7103, else the first three free ones
# above (not necessarily adjacent).
choose_ports() {
  local chosen=() port
  if [[ -n "${REDIS_CLUSTER_PORTS:-}" ]]; then
    read -r -a chosen <<<"${REDIS_CLUSTER_PORTS//,/ }"
    [[ ${#chosen[@]} -eq 3 ]] || die "REDIS_CLUSTER_PORTS needs three ports, got '$REDIS_CLUSTER_PORTS'"
    for port in "${chosen[@]}"; do
      [[ "$port" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_PORTS: '$port' is not a port"
      ! listening "$port" || die "port $port (REDIS_CLUSTER_PORTS) is taken"
    done
  else
    for port in $(seq 7101 7199); do
      listening "$port" || listening "$((port + 10000))" || chosen+=("$port")
      [[ ${#chosen[@]} -lt 3 ]] || break
    done
    [[ ${#chosen[@]} -eq 3 ]] || die "no three free ports between 7101 and 7199"
  fi
  echo "${chosen[@]}"
}

# Waits until `"$@"` succeeds, once every 0.2 s, for at most WAIT_S seconds.
wait_until() {
  local what=$1
  shift
  for _ in $(seq 1 $((WAIT_S * 5))); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  die "$what: not within ${WAIT_S}s (logs in $dir)"
}

answers() { [[ "$(cli "$1" ping)" == PONG ]]; }

cluster_ok() {
  local port
  for port in "$@"; do
    cli "$port" cluster info | grep -q '^cluster_state:ok' || return 1
  done
}

# Starts the node on port $1 (its cluster config in $data, kept across a restart).
launch() {
  redis-server --port "$1" --bind 127.0.0.1 --dir "$data" --daemonize yes \
    --cluster-enabled yes --cluster-config-file "$data/nodes-$1.conf" \
    --save '' --appendonly no --logfile "$dir/redis-$1.log" \
    --pidfile "$dir/redis-$1.pid"
}

start() {
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
  if up; then
    cat "$nodes_file"
    return 0
  fi
  # Left over from a cluster that is not whole any more: shut down what is left of it.
  stop >/dev/null
  local chosen ports port
  chosen=$(choose_ports) || exit 1
  read -r -a ports <<<"$chosen"
  mkdir -p "$data"
  echo "${ports[*]}" >"$ports_file"
  for port in "${ports[@]}"; do
    rm -f "$data/nodes-$port.conf"
    launch "$port"
  done
  for port in "${ports[@]}"; do wait_until "node $port answering" answers "$port"; done
  local addresses=()
  for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
    die "redis-cli --cluster create failed: $(tail -5 "$dir/create.log")"
  wait_until "cluster_state:ok" cluster_ok "${ports[@]}"
  nodes_line "${ports[@]}" >"$nodes_file"
  log "up: $(cat "$nodes_file") (logs in $dir)"
  cat "$nodes_file"
}

stop() {
  [[ -s "$ports_file" ]] || return 0
  local port
  for port in $(cat "$ports_file"); do
    if ours "$port"; then
      cli "$port" shutdown nosave >/dev/null || true
      log "stopped 127.0.0.1:$port"
    fi
  done
  for port in $(cat "$ports_file"); do
    rm -f "$data/nodes-$port.conf" "$dir/redis-$port.pid"
  done
  rm -f "$ports_file" "$nodes_file"
}

restart() {
  local port=${1:-}
  grep -qw -- "$port" "$ports_file" 2>/dev/null || die "restart: $port is not a node of the cluster in $dir"
  ours "$port" || die "restart: the server on $port is not one this script started"
  local pid
  pid=$(cat "$dir/redis-$port.pid")
  kill -KILL "$pid"
  wait_until "node $port gone" bash -c "! kill -0 $pid 2>/dev/null"
  rm -f "$dir/redis-$port.pid"
  launch "$port"
  wait_until "node $port answering" answers "$port"
  # Back in the cluster, as every node sees it: until then a node may answer CLUSTERDOWN.
  # shellcheck disable=SC2046
  wait_until "cluster_state:ok" cluster_ok $(cat "$ports_file")
  log "restarted 127.0.0.1:$port (was pid $pid)"
}

status() {
  if up; then
    cat "$nodes_file"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
restart) restart "${2:-}" ;;
*) die "usage: $0 start|stop|status|restart PORT" ;;
esac
