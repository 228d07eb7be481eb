#!/usr/bin/env bash
# Builds spark/uifilter/hearth-ui-filter.jar, Hearth's UI filter for Spark 3
# (javax.servlet), from spark/uifilter/GatewayFilter.java, against the
# javax.servlet API jar of the installed pyspark. The jar is committed (the
# Go build embeds it); spark's tests fail when it no longer holds the
# current source, which is kept inside it for that check.
set -euo pipefail
cd "$(dirname "$0")/../spark/uifilter"
PYTHON="${PYTHON:-python3}"
jars="$("$PYTHON" -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))')/jars"
api=$(ls "$jars"/javax.servlet-api-*.jar | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
javac --release 8 -nowarn -cp "$api" -d "$out" GatewayFilter.java
cp GatewayFilter.java "$out/GatewayFilter.java"
jar --create --file hearth-ui-filter.jar --no-manifest -C "$out" .
echo "built spark/uifilter/hearth-ui-filter.jar" >&2
