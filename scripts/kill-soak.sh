#!/usr/bin/env bash
# The kill soak (not in CI): a 500-article backfill killed with SIGKILL N times (default 100) at
# random moments, then run to the end; every article must be there once and `gazette verify` pass.
# Usage: scripts/kill-soak.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
KILLS="${1:-100}" cargo bench --locked --bench kill_soak
