#!/usr/bin/env bash
# What the browser tests (e2e/web_test.go) need, installed idempotently:
# Debian's headless-capable Chromium at /usr/bin/chromium, and the Node
# test project's dependencies (playwright-core only: it never downloads a
# browser) from e2e/browser/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium (/usr/bin/chromium) ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser tests need Chromium at /usr/bin/chromium: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "the browser tests need Node.js 18+ and npm: sudo apt-get install -y nodejs npm" >&2
  exit 1
fi

if [ ! -d e2e/browser/node_modules/playwright-core ]; then
  echo "installing the browser tests' Node dependencies (npm ci in e2e/browser) ..." >&2
  (cd e2e/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
