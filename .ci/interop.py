"""Reads every RSS and Atom feed of `gazette demo` with Python's feedparser, a real client.

For each feed, and each RFC 5005 archive reached through prev-archive links: the document must
not be bozo (ill-formed), every entry's date must equal the archive's instant for that article,
ids must be unique within the document, and every attachment must be read as an enclosure (in
Atom each one, in RSS the first). For each JSON feed: following next_url from it must reach every
archived article of that feed exactly once. Usage: python3 interop.py path/to/gazette
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
        attachments = [a["url"] for a in article["article"]["attachments"]]
        want = attachments[:1] if label.startswith("rss") else attachments
        got = [e.get("href") for e in entry.get("enclosures", [])]
        if got != want:
            failures.append(f"{label} {url}: {entry.get('link')} has enclosures {got}, attachments {want}")
        global enclosures_read
        enclosures_read += len(got)
        parsed_date = entry.get("published_parsed")
        want = instant(article["article"]["published"])
        if parsed_date is None or calendar.timegm(parsed_date) != want:
            failures.append(f"{label} {url}: {entry.get('link')} dated {parsed_date}, archive says {article['article']['published']}")
    prev = [link["href"] for link in parsed.feed.get("links", []) if link.get("rel") == "prev-archive"]
    return len(parsed.entries), (prev[0] if prev else None)


enclosures_read = 0


def follow_next_url(url, want_ids, failures):
    """Follows next_url from a JSON feed; every article of the feed must come exactly once."""
    seen = []
    pages = 0
    while url:
        pages += 1
        if pages > 1000:
            failures.append(f"json {url}: next_url never ends")
            break
        page = json.loads(fetch(url))
        seen += [item["id"] for item in page["items"]]
        url = page.get("next_url")
    if len(seen) != len(set(seen)):
        failures.append(f"json: an item came twice following next_url: {seen}")
    if set(seen) != want_ids:
        failures.append(f"json: following next_url gave {len(set(seen))} articles, the archive has {len(want_ids)}")
    return len(seen), pages


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
        paged = 0
        for source in sources:
            feeds = [source["feeds"]] + [section["feeds"] for section in source["sections"]]
            for feed, section in zip(feeds, [None] + source["sections"]):
                query = f"source={source['id']}" + (f"&section={section['id']}" if section else "")
                archived = json.loads(fetch(f"{base}/api/articles?limit=500&{query}"))["articles"]
                # The feed's own ids for them, as the first page writes them.
                first = json.loads(fetch(f"{feed['json']}?limit=500"))
                want = {item["id"] for item in first["items"]}
                if len(want) != len(archived):
                    failures.append(f"json {feed['json']}: {len(want)} items, the archive has {len(archived)}")
                count, pages = follow_next_url(f"{feed['json']}?limit=2", want, failures)
                paged += count
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
        print(f"{enclosures_read} enclosures read, one per attachment (Atom) or per article with attachments (RSS)")
        print(f"{paged} JSON Feed items reached through next_url, each article of each feed once")
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
