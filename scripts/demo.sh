#!/usr/bin/env bash
# make demo: the EMR word-count tutorial in one command. `hearth run` creates
# a 1 master + 2 worker local Spark cluster, runs examples/wordcount.py on a
# generated text as the cluster's only step, streams its output, and
# terminates the cluster. It uses a running `hearth server` if one answers at
# $HEARTH_ENDPOINT, else runs a control plane in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
HEARTH=${HEARTH:-$PWD/bin/hearth}
export HEARTH_HOME=${HEARTH_HOME:-$HOME/.hearth}
text="$HEARTH_HOME/demo/iliad-like.txt"
if [ ! -s "$text" ]; then
  mkdir -p "$(dirname "$text")"
  python3 examples/gentext.py "$text" 500000
fi

echo "==> hearth run --instance-count 3 examples/wordcount.py $text" >&2
"$HEARTH" run --instance-count 3 examples/wordcount.py "$text" | python3 -c '
import json, sys
top = json.loads(sys.stdin.read())
print("The %d most frequent words:" % len(top))
for i, (word, count) in enumerate(top, 1):
    print("%3d. %-10s %8d" % (i, word, count))
'
