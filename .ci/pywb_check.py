#!/usr/bin/env python3
"""Replays gazette's WARC files, or a WACZ package of them, in pywb and checks every revision.

Usage:
  pywb_check.py --expected EXPECTED.json --warc-dir DIR [--cdxj-dir DIR]
  pywb_check.py --expected EXPECTED.json --warc-dir DIR --wacz FILE

EXPECTED.json ({"revisions": [{"id", "revision", "url", "timestamp", "file", "offset"}]}, as
`wacz::files_for_pywb` writes it) names each revision's response record: its URL, its 14-digit
timestamp, and the WARC file (in --warc-dir) and offset it is stored at.

Without --wacz, pywb's collection reads the WARC files of --warc-dir (archive_paths) and the
per-file .cdxj indexes of --cdxj-dir, by default the same directory (index_paths). With --wacz,
the package is added to a new collection by `wb-manager add --unpack-wacz` and `wacz validate`
checks it first.

For every revision: /<coll>/<ts>id_/<url> must answer the record's payload byte for byte (read
with warcio from the WARC file, not through gazette), /<coll>/<ts>mp_/<url> must answer 200
text/html, each of its images (EXPECTED's "images") must answer at <ts>im_ as an image; every
captured image ("assets") must answer id_ byte for byte; and the CDX API (/<coll>/cdx?url=<url>&output=json) must list one text/html capture
per revision of the URL and nothing of type application/json. pywb listens on 127.0.0.1 only.
Ends with "pywb: N passed, N failed"; exits 1 on any failure.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

COLLECTION = "gazette"
# pywb loads its rules and templates on its first requests; a slow machine needs a while.
STARTUP_SECONDS = 120


def payload(warc_dir, file, offset):
    """The HTTP payload of the response record at `offset` of `file`, as warcio reads it."""
    with open(Path(warc_dir) / file, "rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        if record.rec_type != "response":
            raise ValueError("{} at {}: a {} record, not a response".format(file, offset, record.rec_type))
        return record.content_stream().read()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url):
    """(status, content type, body) of a GET, an HTTP error included."""
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def run(command, cwd):
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            "{} exited {}:\n{}{}".format(" ".join(command), done.returncode, done.stdout, done.stderr)
        )
    return done.stdout


def tool(name):
    """A console script of the venv this interpreter runs in."""
    return str(Path(sys.executable).parent / name)


def prepare(args, work):
    """Sets up the collection in `work`: a config.yaml naming the directories, or the WACZ added."""
    if args.wacz:
        run([tool("wb-manager"), "init", COLLECTION], work)
        run([tool("wb-manager"), "add", "--unpack-wacz", COLLECTION, str(Path(args.wacz).resolve())], work)
        return
    warc_dir = Path(args.warc_dir).resolve()
    cdxj_dir = Path(args.cdxj_dir or args.warc_dir).resolve()
    if not list(cdxj_dir.glob("*.cdxj")):
        raise RuntimeError("{}: no .cdxj files".format(cdxj_dir))
    config = (
        "collections:\n"
        "  {}:\n"
        "    archive_paths: {}/\n"
        "    index_paths: {}/\n"
    ).format(COLLECTION, warc_dir, cdxj_dir)
    (Path(work) / "config.yaml").write_text(config)


def start_wayback(work, port, log):
    process = subprocess.Popen(
        [tool("wayback"), "--bind", "127.0.0.1", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = "http://127.0.0.1:{}".format(port)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("wayback exited {} at start".format(process.returncode))
        try:
            get(base + "/")
            return process, base
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("wayback did not answer within {} s".format(STARTUP_SECONDS))


def check(base, revisions, assets, warc_dir):
    """Every check, as (passed, failures)."""
    passed = 0
    failures = []
    by_url = defaultdict(list)
    for revision in revisions:
        by_url[revision["url"]].append(revision)
        name = "{} revision {}".format(revision["id"], revision["revision"])
        prefix = "{}/{}/{}".format(base, COLLECTION, revision["timestamp"])
        expected = payload(warc_dir, revision["file"], revision["offset"])
        status, _, body = get(prefix + "id_/" + revision["url"])
        if status == 200 and body == expected:
            passed += 1
        else:
            failures.append(
                "{}: id_ answered {} with {} bytes, the record holds {} bytes{}".format(
                    name, status, len(body), len(expected), "" if status != 200 else " (they differ)"
                )
            )
        status, content_type, _ = get(prefix + "mp_/" + revision["url"])
        if status == 200 and content_type.startswith("text/html"):
            passed += 1
        else:
            failures.append("{}: mp_ answered {} {}".format(name, status, content_type))
        # The page's figures, as the page is shown: each image answers from the archive.
        for image in revision.get("images", []):
            status, content_type, _ = get(prefix + "im_/" + image)
            if status == 200 and content_type.startswith("image/"):
                passed += 1
            else:
                failures.append("{}: its image {} answered {} {}".format(name, image, status, content_type))
    for asset in assets:
        expected = payload(warc_dir, asset["file"], asset["offset"])
        status, _, body = get("{}/{}/{}id_/{}".format(base, COLLECTION, asset["timestamp"], asset["url"]))
        if status == 200 and body == expected:
            passed += 1
        else:
            failures.append("{}: id_ answered {} with {} bytes, the record holds {} bytes".format(
                asset["url"], status, len(body), len(expected)))
    for url, captured in sorted(by_url.items()):
        query = urllib.parse.urlencode({"url": url, "output": "json"})
        status, _, body = get("{}/{}/cdx?{}".format(base, COLLECTION, query))
        lines = [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        html = [line for line in lines if line.get("mime") == "text/html"]
        json_lines = [line for line in lines if line.get("mime") == "application/json"]
        if status == 200 and len(html) == len(captured) and not json_lines:
            passed += 1
        else:
            failures.append(
                "{}: the CDX API answered {} with {} text/html and {} application/json line(s), "
                "{} revision(s) captured: {}".format(
                    url, status, len(html), len(json_lines), len(captured), body.decode("utf-8", "replace")[:2000]
                )
            )
    return passed, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--warc-dir", required=True)
    parser.add_argument("--cdxj-dir")
    parser.add_argument("--wacz")
    args = parser.parse_args()
    expected = json.loads(Path(args.expected).read_text())
    revisions = expected["revisions"]
    assets = expected.get("assets", [])
    if not revisions:
        print("{}: no revisions".format(args.expected), file=sys.stderr)
        return 1
    passed = 0
    failures = []
    if args.wacz:
        validated = subprocess.run(
            [tool("wacz"), "validate", "-f", args.wacz], capture_output=True, text=True
        )
        if validated.returncode == 0:
            passed += 1
        else:
            failures.append("wacz validate exited {}:\n{}{}".format(
                validated.returncode, validated.stdout, validated.stderr))
    with tempfile.TemporaryDirectory() as work:
        prepare(args, work)
        log_path = Path(work) / "wayback.log"
        with open(log_path, "wb") as log:
            process, base = start_wayback(work, free_port(), log)
            try:
                ok, failed = check(base, revisions, assets, args.warc_dir)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        passed += ok
        failures.extend(failed)
        if failures:
            print("wayback's log:\n" + log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
    mode = "WACZ {}".format(args.wacz) if args.wacz else "WARC files of {}".format(args.warc_dir)
    for failure in failures:
        print("FAILED: " + failure, file=sys.stderr)
    print("pywb replays the {}: {} revision(s), {} image(s)".format(mode, len(revisions), len(assets)))
    print("pywb: {} passed, {} failed".format(passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
