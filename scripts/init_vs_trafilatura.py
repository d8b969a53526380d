#!/usr/bin/env python3
"""Compares the profile `gazette init` infers with trafilatura on fixtures/templates/<family>/.

Each family's recording is served on 127.0.0.1, `gazette init` infers a profile from its list page
and `gazette extract` reads every article of expected.json with it; trafilatura (in its own venv,
target/trafilatura-venv, made on first use) reads the same pages. Both are scored alike: title and
first and last paragraphs equal once whitespace is squeezed, and the date as a calendar day in
+07:00, since trafilatura's dates (htmldate's) carry no time of day.

Usage: python3 scripts/init_vs_trafilatura.py [--gazette PATH] [--json FILE] [--verbose] [FAMILY...]
"""

import argparse
import datetime
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "fixtures" / "templates"
VENV = ROOT / "target" / "trafilatura-venv"
REQUIREMENTS = ["trafilatura>=2,<3", "lxml_html_clean"]  # justext needs lxml's cleaner, now apart
FIELDS = ["title", "date", "first", "last"]
ZONE = datetime.timezone(datetime.timedelta(hours=7))


def die(message):
    print(f"init_vs_trafilatura: {message}", file=sys.stderr)
    sys.exit(1)


def enter_venv():
    """Re-runs this script with the venv's Python, making the venv first when it is missing."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    marker = VENV / "installed.txt"
    wanted = "\n".join(REQUIREMENTS)
    if not marker.exists() or marker.read_text() != wanted:
        for step in ([sys.executable, "-m", "venv", str(VENV)],
                     [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS]):
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                die(f"{' '.join(step[:4])} failed (exit {done.returncode}): {last}")
        marker.write_text(wanted)
    os.execv(python, [str(python), __file__, *sys.argv[1:]])


def squeeze(text):
    return " ".join(text.split()) if isinstance(text, str) else None


def day(value):
    """The calendar day in +07:00 of an RFC 3339 time, or the day a bare date names."""
    if not value:
        return None
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZONE)
    return moment.date().isoformat()


def charset_of(text):
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", text, re.I)
    return match.group(1).lower() if match else None


def decode(data, content_type):
    """The page's text as a browser reads it: a BOM first, then the header's charset, then the
    one a <meta> declares, else UTF-8 (Latin-1 labels meaning windows-1252, as browsers take them)."""
    meta = re.search(r"<meta[^>]*charset[^>]*>", data[:4096].decode("ascii", "replace"), re.I)
    declared = charset_of(content_type) or (charset_of(meta.group(0)) if meta else None)
    if data.startswith(b"\xef\xbb\xbf"):
        declared = "utf-8-sig"
    elif declared in ("iso-8859-1", "latin1", "us-ascii", "ascii"):
        declared = "cp1252"
    try:
        return data.decode(declared or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def load_family(directory):
    info = directory / "family.json"
    if not info.exists():
        raise RuntimeError("no family.json (origin and list path)")
    family = json.loads(info.read_text())
    routes = {}  # path -> (file, content type)
    for line in (directory / "manifest.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            path, file, content_type = line.split("\t")[:3]
            routes[path] = (file, content_type)
    family["routes"] = routes
    family["pages"] = {file: (path, ct) for path, (file, ct) in routes.items()}
    family["expected"] = json.loads((directory / "expected.json").read_text())
    return family


def served(directory, routes, origin, base):
    """The recording as it would look hosted at `base`: the origin in links replaced by it, so that
    the list page's absolute links lead to this host. Each manifest path -> (body, content type)."""
    host = re.escape(urllib.parse.urlsplit(origin).netloc.encode())
    at = urllib.parse.urlsplit(base).netloc.encode()
    # Any scheme or none, and JSON's escaped slashes too: https://host, //host, https:\/\/host.
    pattern = re.compile(rb"(?:https?:)?(\\?/\\?/)" + host + rb"(?::\d+)?(?![\w.-])")
    bodies = {}
    for path, (file, content_type) in routes.items():
        body = (directory / file).read_bytes()
        if re.match(r"text/|application/(xhtml|xml|json)", content_type):
            body = pattern.sub(lambda m: b"http:" + m.group(1) + at, body)
        bodies[path] = (body, content_type)
    return bodies


def serve(directory, routes, origin):
    """Serves the recording on 127.0.0.1: each manifest path exactly, anything else 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, with_body):
            route = self.server.bodies.get(self.path)
            if route is None:
                self.send_error(404)
                return
            body, content_type = route
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self):
            self.answer(True)

        def do_HEAD(self):
            self.answer(False)

        def log_message(self, *args):  # quiet: gazette's own errors say what went wrong
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    server.bodies = served(directory, routes, origin, server.base)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(command):
    """Runs a gazette command; a failure raises with its last line of stderr."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"gazette {command[1]} took over 600 s")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"gazette {command[1]} failed (exit {done.returncode}): {last}")
    return done.stdout


def gazette_family(gazette, directory, family, work):
    """What the profile gazette init infers makes of each article: title, day, paragraphs."""
    paths, expected = family["pages"], family["expected"]
    server = serve(directory, family["routes"], family["origin"])
    base, bodies = server.base, server.bodies
    config = work / "config.toml"
    source = re.sub(r"[^a-z0-9-]", "-", directory.name.lower())
    try:
        run([gazette, "init", "--url", base + family["list"], "--id", source,
             "--out", str(config)])
    finally:
        server.shutdown()
        server.server_close()

    def extract(file, *more):
        path, content_type = paths[file]
        page = work / file
        page.write_bytes(bodies[path][0])
        out = run([gazette, "extract", "--config", str(config), "--source", source,
                   "--url", base + path, "--file", str(page),
                   "--content-type", content_type, *more])
        return json.loads(out)

    listed = {}  # article URL -> the time its list item shows
    lists = [f for f, want in expected.items() if want.get("list")]
    lists += [f for f in paths if f.startswith("list") and f not in lists]
    for file in lists:
        for item in extract(file, "--list").get("items", []):
            listed.setdefault(item["url"], item.get("published"))
    result = {}
    for file in articles(expected):
        page = extract(file)
        # The list links the article's canonical address, which the article reports as its url.
        published = (page.get("published") or listed.get(page.get("url"))
                     or listed.get(base + paths[file][0]))
        paragraphs = [p for p in (page.get("body_text") or "").split("\n\n") if p.strip()]
        result[file] = values(page.get("title"), day(published), paragraphs)
    return result


def trafilatura_family(directory, family):
    import trafilatura

    result = {}
    for file in articles(family["expected"]):
        path, content_type = family["pages"][file]
        page = decode((directory / file).read_bytes(), content_type)
        url = family["origin"].rstrip("/") + path
        doc = trafilatura.bare_extraction(page, url=url, with_metadata=True,
                                          favor_precision=False)
        doc = doc or trafilatura.settings.Document()  # nothing extracted: scored as nothing
        paragraphs = [line for line in (doc.text or "").splitlines() if line.strip()]
        result[file] = values(doc.title, day(doc.date), paragraphs)
    return result


def articles(expected):
    return [file for file, want in expected.items() if not want.get("list")]


def values(title, date, paragraphs):
    return {"title": squeeze(title), "date": date,
            "first": squeeze(paragraphs[0]) if paragraphs else None,
            "last": squeeze(paragraphs[-1]) if paragraphs else None}


def wanted(want):
    return {"title": squeeze(want["title"]), "date": day(want["published"]),
            "first": squeeze(want["first_paragraph"]), "last": squeeze(want["last_paragraph"])}


def score(got, expected):
    """Right answers per field; the wrong ones as (file, field, got, wanted)."""
    right = dict.fromkeys(FIELDS, 0)
    wrong = []
    for file, values_ in got.items():
        want = wanted(expected[file])
        for field in FIELDS:
            if values_[field] is not None and values_[field] == want[field]:
                right[field] += 1
            else:
                wrong.append((file, field, values_[field], want[field]))
    return right, wrong


def table_row(name, n, gazette, trafilatura):
    """A table row: each side's right answers per field and in all, and who is ahead."""
    g, t = sum(gazette.values()), sum(trafilatura.values())
    ahead = "gazette init" if g > t else "trafilatura" if t > g else "even"
    cells = []
    for side, right in ((gazette, g), (trafilatura, t)):
        cells += [f"{side[f]}/{n}" for f in FIELDS] + [f"{right}/{4 * n}"]
    return [name, str(n)] + cells + [ahead]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", help="directories under fixtures/templates")
    parser.add_argument("--gazette", default="/work/families/bin/gazette")
    parser.add_argument("--json", help="write the per-page values here")
    parser.add_argument("--verbose", action="store_true", help="print each wrong value")
    args = parser.parse_args()
    gazette = str(Path(args.gazette).resolve())
    if not os.access(gazette, os.X_OK):
        die(f"no gazette binary at {args.gazette}")
    names = args.families or sorted(d.name for d in TEMPLATES.iterdir() if d.is_dir())

    rows, failed, report, total_n = [], 0, {}, 0
    totals = {who: dict.fromkeys(FIELDS, 0) for who in ("gazette", "trafilatura")}
    for name in names:
        directory = TEMPLATES / name
        try:
            family = load_family(directory)
            expected = family["expected"]
            with tempfile.TemporaryDirectory() as work:
                got = {"gazette": gazette_family(gazette, directory, family, Path(work)),
                       "trafilatura": trafilatura_family(directory, family)}
        except Exception as e:  # any failure shows as the family's row, never hides it
            failed += 1
            why = str(e) if isinstance(e, (RuntimeError, OSError)) else f"{type(e).__name__}: {e}"
            rows.append([name, "-", "failed: " + why.replace("|", "\\|")] + [""] * 10)
            report[name] = {"failed": why}
            continue
        n = len(articles(expected))
        total_n += n
        scored = {who: score(got[who], expected) for who in got}
        for who, (right, wrong) in scored.items():
            for field in FIELDS:
                totals[who][field] += right[field]
            if args.verbose:
                for file, field, value, want in wrong:
                    print(f"{name} {who} {file} {field}: got {value!r}, want {want!r}")
        rows.append(table_row(name, n, scored["gazette"][0], scored["trafilatura"][0]))
        report[name] = {file: {"expected": wanted(expected[file]),
                               **{who: got[who][file] for who in got}} for file in got["gazette"]}
    rows.append(table_row("**all**", total_n, totals["gazette"], totals["trafilatura"]))

    head = ["family", "articles"] + [f"{who} {f}" for who in ("gazette init", "trafilatura")
                                     for f in ("title", "date", "first¶", "last¶", "total")]
    print("| " + " | ".join(head + ["ahead"]) + " |")
    print("|" + "---|" * (len(head) + 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nDates are compared as the calendar day in +07:00 for both: trafilatura's (htmldate's)"
          " have no time of day.")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    enter_venv()
    main()
