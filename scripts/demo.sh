#!/usr/bin/env bash
# make demo: a 1 master + 2 worker local Spark cluster, a real job on it,
# the result, and the cluster gone again. Uses a running `hearth server` if
# one answers at $HEARTH_ENDPOINT, else starts one for the demo and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
HEARTH=${HEARTH:-$PWD/bin/hearth}
export HEARTH_HOME=${HEARTH_HOME:-$HOME/.hearth}
export HEARTH_ENDPOINT=${HEARTH_ENDPOINT:-http://127.0.0.1:8440}
SPARK_HOME=$(python3 -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))')

server_pid=""
cluster=""
cleanup() {
  if [ -n "$cluster" ]; then
    "$HEARTH" terminate-clusters --cluster-ids "$cluster" >/dev/null 2>&1 || true
    "$HEARTH" wait cluster-terminated --cluster-id "$cluster" --timeout 2m >/dev/null 2>&1 || true
  fi
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if ! "$HEARTH" list-clusters >/dev/null 2>&1; then
  echo "==> starting hearth server (log: $HEARTH_HOME/demo-server.log)"
  mkdir -p "$HEARTH_HOME"
  "$HEARTH" server --listen "${HEARTH_ENDPOINT#http://}" >"$HEARTH_HOME/demo-server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do "$HEARTH" list-clusters >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "==> hearth create-cluster --name demo --instance-type local.medium --instance-count 3 --wait"
cluster=$("$HEARTH" create-cluster --name demo --instance-type local.medium --instance-count 3 --wait |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ClusterId"])')
master=$("$HEARTH" describe-cluster --cluster-id "$cluster" |
  python3 -c 'import json,sys; c=json.load(sys.stdin)["Cluster"]; print(c["Spark"]["MasterURL"])')
echo "==> cluster $cluster is WAITING; Spark master $master"

echo "==> spark-submit --master $master pi.py 10"
SPARK_LOCAL_IP=127.0.0.1 "$SPARK_HOME/bin/spark-submit" --master "$master" \
  --conf spark.ui.enabled=false "$SPARK_HOME/examples/src/main/python/pi.py" 10 2>/dev/null

echo "==> hearth terminate-clusters --cluster-ids $cluster"
"$HEARTH" terminate-clusters --cluster-ids "$cluster"
"$HEARTH" wait cluster-terminated --cluster-id "$cluster"
cluster=""
