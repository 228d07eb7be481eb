#!/usr/bin/env bash
# What the test suite needs beyond scripts/deps.sh, installed idempotently:
# the aws CLI v2 from Debian (/usr/bin/aws), and the aws CLI v1 and boto3
# from PyPI — the EMR-compatible API is tested against all three — and
# Debian's postgresql for the PostgreSQL store and OpenSSH's server for the
# SSH provisioner's test hosts, and moto's server for internal/fakeec2.
set -euo pipefail
PYTHON="${PYTHON:-python3}"

if [ ! -x /usr/bin/aws ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's awscli (aws CLI v2 at /usr/bin/aws) ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null
  else
    echo "the tests need the aws CLI at /usr/bin/aws: sudo apt-get install -y awscli" >&2
    exit 1
  fi
fi

# A JDK: tests compile small Java applications (javac, jar).
if ! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing a JDK (javac, jar) for the tests' Java applications ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
  else
    echo "the tests need a JDK (javac and jar): sudo apt-get install -y openjdk-17-jdk-headless" >&2
    exit 1
  fi
fi

# PostgreSQL's server (initdb, postgres) for store/postgres's tests, which
# initdb and start a server of their own in a temporary directory.
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && ! command -v initdb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's postgresql (initdb and postgres, for the PostgreSQL store's tests) ..." >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; then
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
  else
    echo "the tests need PostgreSQL's server (initdb and postgres): sudo apt-get install -y postgresql" >&2
    exit 1
  fi
fi

# OpenSSH's server and client, and iproute2, for internal/testhosts, whose
# test hosts are network namespaces each running a real /usr/sbin/sshd.
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's openssh-server, openssh-client and iproute2 (for the SSH test hosts) ..." >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client iproute2 >/dev/null 2>&1; then
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client iproute2 >/dev/null
    fi
  else
    echo "the tests need OpenSSH and iproute2 (/usr/sbin/sshd, ssh, ssh-keygen, ip): sudo apt-get install -y openssh-server openssh-client iproute2" >&2
    exit 1
  fi
fi

if ! "$PYTHON" -c 'import boto3, awscli' 2>/dev/null; then
  echo "installing boto3 and the aws CLI v1 from PyPI ..." >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --quiet --root-user-action=ignore boto3 awscli
fi

# moto's server (moto_server, with flask), behind internal/fakeec2's fake
# of EC2.
if ! "$PYTHON" -c 'import moto, flask' 2>/dev/null; then
  echo "installing moto[server] (for internal/fakeec2's fake of EC2) ..." >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --quiet --root-user-action=ignore "moto[server]"
fi

# The Spark Connect client (pyspark --remote) for the SparkConnect test.
if ! "$PYTHON" -c 'import grpc, grpc_status, pandas, pyarrow, google.protobuf' 2>/dev/null; then
  echo "installing the Spark Connect client (pyspark[connect]) ..." >&2
  version=$("$PYTHON" -c 'import pyspark; print(pyspark.__version__)')
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --quiet --root-user-action=ignore "pyspark[connect]==$version"
fi

# A Spark 3.5 runtime (what emr-7.x labels run) for the Spark 3 security
# test: Hearth's own UI filter must hold there too.
SPARK3_VERSION="${SPARK3_VERSION:-3.5.5}"
spark3="${HEARTH_TEST_SPARK3:-$HOME/.cache/hearth-test/pyspark-$SPARK3_VERSION}"
if [ ! -x "$spark3/pyspark/bin/spark-class" ]; then
  echo "installing pyspark==$SPARK3_VERSION into $spark3 for the Spark 3 tests (~320 MB) ..." >&2
  rm -rf "$spark3.tmp"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --quiet --root-user-action=ignore --no-deps --no-compile --target "$spark3.tmp" "pyspark==$SPARK3_VERSION"
  rm -rf "$spark3"
  mv "$spark3.tmp" "$spark3"
fi
