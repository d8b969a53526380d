"""Reads every RSS and Atom feed of `gazette demo` with Python's feedparser, a real client.

For each feed, and each RFC 5005 archive reached through prev-archive links: the document must
not be bozo (ill-formed), every entry's date must equal the archive's instant for that article,
and ids must be unique within the document. Usage: python3 interop.py path/to/gazette
"""

import calendar
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from datetime import datetime

import feedparser


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def instant(rfc3339):
    return int(datetime.fromisoformat(rfc3339).timestamp())


def check(url, articles_by_url, label, failures):
    parsed = feedparser.parse(fetch(url))
    if parsed.bozo:
        failures.append(f"{label} {url}: bozo: {parsed.bozo_exception!r}")
    ids = [entry.get("id") for entry in parsed.entries]
    if len(ids) != len(set(ids)):
        failures.append(f"{label} {url}: duplicate ids")
    for entry in parsed.entries:
        article = articles_by_url.get(entry.get("link"))
        if article is None:
            failures.append(f"{label} {url}: entry {entry.get('link')} is not in the archive")
            continue
        parsed_date = entry.get("published_parsed")
        want = instant(article["article"]["published"])
        if parsed_date is None or calendar.timegm(parsed_date) != want:
            failures.append(f"{label} {url}: {entry.get('link')} dated {parsed_date}, archive says {article['article']['published']}")
    prev = [link["href"] for link in parsed.feed.get("links", []) if link.get("rel") == "prev-archive"]
    return len(parsed.entries), (prev[0] if prev else None)


def main():
    binary = sys.argv[1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = subprocess.Popen([binary, "demo", "--listen", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    try:
        for line in demo.stderr:
            if "ready" in line:
                break
        else:
            sys.exit("gazette demo stopped before it was ready")
        # Keep reading its log so a full pipe never blocks it.
        threading.Thread(target=lambda: [None for _ in demo.stderr], daemon=True).start()
        articles = json.loads(fetch(f"{base}/api/articles?limit=500"))["articles"]
        by_url = {a["article"]["url"]: a for a in articles}
        sources = json.loads(fetch(f"{base}/api/sources"))["sources"]
        failures = []
        checked = 0
        for source in sources:
            feeds = [source["feeds"]] + [section["feeds"] for section in source["sections"]]
            for feed in feeds:
                for kind in ("rss", "atom"):
                    count, prev = check(feed[kind], by_url, kind, failures)
                    checked += count
                    while prev:
                        count, prev = check(prev, by_url, f"{kind} archive", failures)
                        checked += count
        if failures:
            print("\n".join(failures))
            print(f"interop: {checked - len(failures)} passed, {len(failures)} failed")
            sys.exit(1)
        print(f"{checked} entries read by feedparser {feedparser.__version__}, every date and id right")
        print(f"interop: {checked} passed, 0 failed")
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            code = demo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            demo.kill()
            sys.exit("gazette demo did not stop within 10 s of SIGTERM")
        if code != 0:
            sys.exit(f"gazette demo exited with {code}")


if __name__ == "__main__":
    main()
