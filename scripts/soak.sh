#!/usr/bin/env bash
# The soak (not in CI): 60 s of wrk at 64 connections on the feeds and the API while `gazette serve`
# crawls a local replay that misbehaves in ten ways every 10 s. Figures go to BENCHMARKS.md.
# Usage: scripts/soak.sh [SECONDS]   (needs the Debian package wrk; installs it when run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk
  else
    echo "soak: wrk is missing (apt-get install wrk)" >&2
    exit 2
  fi
fi
cargo build --release --locked
SOAK_SECONDS="${1:-60}" cargo bench --locked --bench soak
