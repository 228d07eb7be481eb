#!/usr/bin/env bash
# Installs what Hearth needs to build, run and test, idempotently:
# checks Java 17+, installs the pinned pyspark (the Spark runtime), and
# downloads Go modules. Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

SPARK_VERSION="${SPARK_VERSION:-4.0.1}"
PYTHON="${PYTHON:-python3}"

# Java: Spark 4 needs 17 or newer. We check; installing a JDK is the
# machine owner's call.
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
  cat >&2 <<MSG
Java 17+ is required and was not found (JAVA_HOME=${JAVA_HOME:-unset}).
  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless
  macOS:         brew install openjdk@17
MSG
  exit 1
fi
java_major=$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -1)
if [ "${java_major:-0}" = 1 ] || [ "${java_major:-0}" -lt 17 ]; then
  echo "Java 17+ is required; $java_bin is version ${java_major:-unknown}. Install openjdk-17 and set JAVA_HOME." >&2
  exit 1
fi

# pyenv: a rehash that was killed leaves its lock file behind, and from then
# on every `pip install` through a shim, and every login shell that runs
# `pyenv init`, waits a minute for the lock and fails. Remove a stale one
# (older than a minute, with no rehash running).
pyenv_lock="${PYENV_ROOT:-$HOME/.pyenv}/shims/.pyenv-shim"
if [ -e "$pyenv_lock" ] && [ -n "$(find "$pyenv_lock" -mmin +1 2>/dev/null)" ] && ! pgrep -f pyenv-rehash >/dev/null 2>&1; then
  echo "removing pyenv's stale rehash lock $pyenv_lock" >&2
  rm -f "$pyenv_lock"
fi

# The Spark runtime, from PyPI.
have=$("$PYTHON" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null || true)
if [ "$have" != "$SPARK_VERSION" ]; then
  echo "installing pyspark==$SPARK_VERSION (the Spark $SPARK_VERSION runtime, ~400 MB) ..." >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --quiet --root-user-action=ignore "pyspark==$SPARK_VERSION"
fi

go mod download
