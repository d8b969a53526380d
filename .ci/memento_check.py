"""Checks gazette's Memento (RFC 7089) answers with the official Python client, PyPI memento-client.

1. `gazette demo` replays the recorded portal, crawls it and serves it: for every article, the
   client (through gazette's TimeGate) must find the capture of each revision at its fetch time,
   the first capture for a date long before and the last for a date long after; the link-format
   TimeMap, read with the client's own Link parser, and the JSON TimeMap must list every revision;
2. an archive holding an article with three revisions a day apart (made with `gazette import` of
   reader_check's export line, served with `gazette serve`): the client must find each, and the
   nearer one for dates between them (the earlier for a tie); each memento is its page.

The client is given gazette's TimeGate and asked not to look for a native one, and every request
it makes goes through a session that refuses any host but loopback: the portal's own URLs (the
originals) are never dialled.

Usage: python3 memento_check.py path/to/gazette [config/gazette.toml]
Exits 1 on failure, naming what differed.
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
from datetime import datetime, timedelta, timezone

import requests
from memento_client import MementoClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_check import SOURCE_ID, free_port, run, wait_until_up, write_config  # noqa: E402
from reader_check import export_line  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class LoopbackOnly(requests.Session):
    """A session that refuses to send a request anywhere but loopback, redirects included."""

    def send(self, request, **kwargs):
        host = urllib.parse.urlsplit(request.url).hostname
        if host not in LOOPBACK:
            raise AssertionError(f"memento check: the client tried to reach {request.url}")
        return super().send(request, **kwargs)


def utc(rfc3339):
    """A fetch time as the client reads Memento dates: naive, in UTC, to the second."""
    at = datetime.fromisoformat(rfc3339).astimezone(timezone.utc)
    return at.replace(tzinfo=None, microsecond=0)


def memento_uri(base, at, original):
    return f"{base}/web/{at:%Y%m%d%H%M%S}/{original}"


def expect(failures, condition, what):
    if not condition:
        print(f"  FAILED: {what}")
        failures.append(what)
    return condition


class Checker:
    def __init__(self, base):
        self.base = base
        self.session = LoopbackOnly()
        self.client = MementoClient(timegate_uri=f"{base}/timegate/", check_native_timegate=False,
                                    session=self.session)
        self.asked = 0

    def closest(self, original, at):
        """What the client finds for `original` at `at`: (memento URI, its datetime, first, last)."""
        # The client would read the original's own headers to find its URI; gazette's TimeGate
        # answers with rel="original", so it is given that answer instead of the portal's.
        told = self.session.head(f"{self.base}/timegate/{original}", allow_redirects=False)
        info = self.client.get_memento_info(original, at, req_uri_response=told)
        self.asked += 1
        mementos = info.get("mementos", {})
        closest = mementos.get("closest", {})
        pick = lambda rel: (mementos.get(rel, {}).get("uri") or [None])[0]  # noqa: E731
        return (closest.get("uri") or [None])[0], closest.get("datetime"), pick("first"), pick("last")

    def article(self, original, fetched, failures, between=()):
        """`fetched`: the revisions' fetch times (naive UTC), oldest first; `between`: (date,
        index of the revision it is nearer)."""
        want = [memento_uri(self.base, at, original) for at in fetched]
        cases = [(at, i, f"revision {i + 1}'s fetch time") for i, at in enumerate(fetched)]
        cases += [(fetched[0] - timedelta(days=3650), 0, "ten years before the first"),
                  (fetched[-1] + timedelta(days=3650), len(fetched) - 1, "ten years after the last")]
        cases += [(at, i, f"{at} (nearer revision {i + 1})") for at, i in between]
        for at, i, case in cases:
            uri, dt, first, last = self.closest(original, at)
            expect(failures, uri == want[i], f"{original} at {case}: the client found {uri}, not {want[i]}")
            expect(failures, dt == fetched[i], f"{original} at {case}: Memento-Datetime {dt}, not {fetched[i]}")
            expect(failures, (first, last) == (want[0], want[-1]),
                   f"{original} at {case}: first/last {first}, {last}")

        answer = self.session.get(f"{self.base}/timemap/link/{original}")
        expect(failures, answer.headers.get("Content-Type") == "application/link-format",
               f"{original}: the TimeMap's type is {answer.headers.get('Content-Type')}")
        links = MementoClient.parse_link_header(answer.text) or {}
        listed = sorted(uri for uri, link in links.items() if "memento" in link.get("rel", []))
        expect(failures, listed == sorted(want), f"{original}: the link TimeMap lists {listed}, not {want}")
        for uri in listed:
            at = MementoClient.convert_to_datetime(links[uri]["datetime"][0])
            expect(failures, uri == memento_uri(self.base, at, original), f"{uri}: datetime {at}")
        originals = [uri for uri, link in links.items() if "original" in link.get("rel", [])]
        expect(failures, originals == [original], f"{original}: the TimeMap's original is {originals}")

        timemap = self.session.get(f"{self.base}/timemap/json/{original}").json()
        listed = [m["uri"] for m in timemap["mementos"]["list"]]
        expect(failures, listed == want, f"{original}: the JSON TimeMap lists {listed}, not {want}")


def demo_checks(binary, failures):
    listen = f"127.0.0.1:{free_port()}"
    base = f"http://{listen}"
    demo = subprocess.Popen([binary, "demo", "--listen", listen],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(f"{base}/healthz", demo, seconds=120)
        checker = Checker(base)
        articles = checker.session.get(f"{base}/api/articles?limit=500").json()["articles"]
        expect(failures, len(articles) >= 9, f"the demo archived {len(articles)} articles")
        revisions = 0
        for archived in articles:
            article_id = archived["article"]["id"]
            shown = checker.session.get(f"{base}/api/articles/{urllib.parse.quote(article_id, safe=':')}").json()
            fetched = sorted({utc(r["fetched_at"]) for r in shown["revisions"]})
            revisions += len(shown["revisions"])
            checker.article(archived["article"]["url"], fetched, failures)
        print(f"memento check: demo: {len(articles)} articles, {revisions} revisions, "
              f"{checker.asked} TimeGate look-ups by memento-client")
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def revisions_checks(binary, shipped, failures):
    bodies = ["Khu kinh tế cửa khẩu Hà Tiên.", "Khu kinh tế cửa khẩu Phú Quốc.", "Khu kinh tế cửa khẩu Rạch Giá."]
    with tempfile.TemporaryDirectory(prefix="gazette-memento-") as directory:
        listen = f"127.0.0.1:{free_port()}"
        config = write_config(shipped, directory, listen, free_port())
        export = os.path.join(directory, "revised.jsonl")
        line = export_line(SOURCE_ID, [("Hội nghị xúc tiến đầu tư", body) for body in bodies])
        with open(export, "w", encoding="utf-8") as f:
            f.write(line)
        revisions = json.loads(line)["revisions"]
        original = revisions[0]["article"]["url"]
        times = [utc(r["fetched_at"]) for r in revisions]
        run([binary, "import", "--config", config, "--in", export])
        server = subprocess.Popen([binary, "serve", "--config", config],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://{listen}"
            wait_until_up(f"{base}/healthz", server)
            checker = Checker(base)
            hours = lambda n: timedelta(hours=n)  # noqa: E731
            between = [(times[0] + hours(10), 0), (times[0] + hours(12), 0),  # a tie: the earlier
                       (times[1] - hours(10), 1), (times[1] + hours(10), 1), (times[2] - hours(10), 2)]
            checker.article(original, times, failures, between)
            for i, at in enumerate(times):
                page = checker.session.get(memento_uri(base, at, original))
                expect(failures, page.status_code == 200 and page.content == f"<p>{bodies[i]}</p>".encode(),
                       f"memento {i + 1} is the page of revision {i + 1}, byte for byte")
            print(f"memento check: {len(times)} revisions, {checker.asked} TimeGate look-ups by memento-client")
        finally:
            server.terminate()
            server.wait(timeout=30)


def main():
    binary = os.path.abspath(sys.argv[1])
    shipped = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "config", "gazette.toml")
    failures = []
    demo_checks(binary, failures)
    revisions_checks(binary, shipped, failures)
    if failures:
        print(f"memento check FAILED ({len(failures)}):\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("memento check: every capture found, every TimeMap complete")


if __name__ == "__main__":
    main()
