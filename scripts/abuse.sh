#!/usr/bin/env bash
# The abuse check (not in CI): slowloris, a diff flood and a WebSub flood against a release
# `gazette serve` while it crawls a local replay every 10 s, all on loopback. Prints, for each,
# failed /healthz answers, their p99, serve's peak resident memory and whether the scheduled runs
# completed. Figures go to BENCHMARKS.md.
# Usage: scripts/abuse.sh [PHASE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
PHASE_SECONDS="${1:-30}" cargo bench --locked --bench abuse
