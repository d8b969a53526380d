"""Checks the reader in a real browser: headless Chromium over `gazette demo`, and over an archive
holding an article with two revisions for the diff page.

1. `gazette demo` replays the recorded portal, crawls it and serves it; Chromium (`--dump-dom`)
   opens the index (every recorded article, with its date as the portal writes it), an article
   with figures and captions (each image shown from the archive, a JPEG), one with attachments, and a search typed without tones that must
   find the article written with them;
2. for the diff, an archive is made with gazette's own CLI (`gazette import` of an article whose
   second revision changes one word: the demo's replay serves each page one way only), served
   with `gazette serve`; its diff page must mark the changed word with <del> and <ins>.

Screenshots of every page (a phone-sized window) are kept under target/reader-screenshots/.

Usage: python3 reader_check.py path/to/gazette [config/gazette.toml]
Exits 1 on failure, naming what was missing.
"""

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_check import content_hash, free_port, open_in_chromium, run, wait_until_up, write_config  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = os.path.join(ROOT, "target", "reader-screenshots")
PORTAL_DATE = re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d")


def screenshot(url, name, profile):
    path = os.path.join(SHOTS, f"{name}.png")
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=412,1600",
         f"--screenshot={path}", url],
        capture_output=True, timeout=60,
    )
    return path


def expect(failures, condition, what):
    print(("  ok: " if condition else "  FAILED: ") + what)
    if not condition:
        failures.append(what)


def demo_checks(binary, profile, failures):
    expected = json.load(open(os.path.join(ROOT, "fixtures", "portal", "expected.json"), encoding="utf-8"))
    articles = {name: page for name, page in expected.items() if isinstance(page, dict) and page.get("title")}
    listen = f"127.0.0.1:{free_port()}"
    base = f"http://{listen}"
    demo = subprocess.Popen([binary, "demo", "--listen", listen],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(f"{base}/healthz", demo, seconds=120)
        index = open_in_chromium(f"{base}/", profile)
        screenshot(f"{base}/", "index", profile)
        missing = [p["title"] for p in articles.values() if p["title"] not in index]
        expect(failures, not missing, f"the index lists every recorded article (missing: {missing})")
        expect(failures, len(PORTAL_DATE.findall(index)) >= len(articles),
               "the index shows each article's date as the portal writes it (08/07/2020 13:54)")
        expect(failures, "08/07/2020 13:54" in index, "article 1234's date in the source's zone")

        figures = f"{base}/articles/bqlkkt:1234"
        page = open_in_chromium(figures, profile)
        screenshot(figures, "article-figures", profile)
        p = articles["article-1234.html"]
        expect(failures, f"<h1>{p['title']}</h1>" in page, "the article page shows its title")
        expect(failures, "08/07/2020 13:54" in page, "the article page shows its date")
        expect(failures, page.count("<p>") >= 3, "the article page shows its paragraphs")
        caption = next(i["caption"] for i in p["images"] if i.get("caption"))
        expect(failures, "<figure>" in page and caption in page, "figures with their captions")
        sources = [html.unescape(src) for src in re.findall(r'<img[^>]*\bsrc="([^"]+)"', page)]
        archived = [src for src in sources if src.startswith("/api/assets?url=")]
        expect(failures, len(archived) == len(p["images"]) == len(sources),
               f"every figure is shown from the archive ({sources})")
        for src in archived:
            with urllib.request.urlopen(base + src, timeout=30) as answer:
                image = answer.read()
                kind = answer.headers.get("Content-Type")
            expect(failures, kind == "image/jpeg" and image.startswith(b"\xff\xd8\xff"),
                   f"{src} answers a JPEG ({kind}, {len(image)} bytes)")

        attached = f"{base}/articles/bqlkkt:1236"
        page = open_in_chromium(attached, profile)
        screenshot(attached, "article-attachments", profile)
        titles = [a["title"] for a in articles["article-1236.html"]["attachments"]]
        expect(failures, "Tệp đính kèm" in page and all(t in page for t in titles),
               f"the attachments are listed ({titles})")

        search = f"{base}/search?q=ha+tien"
        page = open_in_chromium(search, profile)
        screenshot(search, "search", profile)
        expect(failures, articles["article-1229.html"]["title"] in page and "<mark>" in page,
               "a search without tones (ha tien) finds the article written with them, marked")
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def export_line(source, revisions):
    """One line of `gazette export --raw`: an article with the given (title, body) revisions."""
    history = []
    for number, (title, body) in enumerate(revisions, start=1):
        at = f"2026-01-0{number}T08:00:00+07:00"
        article = {
            "id": f"{source}:1", "source": source, "section": "tin-ban-quan-ly",
            "url": "http://127.0.0.1/article/1", "title": title, "published": "2026-01-01T08:00:00+07:00",
            "published_inferred": False, "category": None, "credit": None, "summary": "",
            "body_html": f"<p>{body}</p>", "body_text": body, "images": [], "attachments": [],
            "content_hash": content_hash(title, "2026-01-01T08:00:00+07:00", body),
        }
        history.append({
            "number": number, "fetched_at": at, "article": article,
            "capture": {"url": article["url"], "status": 200,
                        "headers": [["content-type", "text/html; charset=utf-8"]]},
            "raw_base64": base64.b64encode(f"<p>{body}</p>".encode()).decode(),
        })
    last = history[-1]
    archived = {"article": last["article"], "first_seen": history[0]["fetched_at"],
                "updated": last["fetched_at"], "revisions": len(history), "gone_at": None}
    return json.dumps({"archived": archived, "revisions": history}) + "\n"


def diff_checks(binary, shipped, profile, failures):
    with tempfile.TemporaryDirectory(prefix="gazette-reader-") as directory:
        listen = f"127.0.0.1:{free_port()}"
        config = write_config(shipped, directory, listen, free_port())
        export = os.path.join(directory, "revised.jsonl")
        with open(export, "w", encoding="utf-8") as f:
            f.write(export_line("hostile", [
                ("Hội nghị xúc tiến đầu tư", "Khu kinh tế cửa khẩu Hà Tiên thu hút đầu tư."),
                ("Hội nghị xúc tiến đầu tư", "Khu kinh tế cửa khẩu Phú Quốc thu hút đầu tư."),
            ]))
        run([binary, "import", "--config", config, "--in", export])
        server = subprocess.Popen([binary, "serve", "--config", config],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until_up(f"http://{listen}/healthz", server)
            url = f"http://{listen}/articles/{urllib.parse.quote('hostile:1', safe=':')}/diff?from=1&to=2"
            page = open_in_chromium(url, profile)
            screenshot(url, "diff", profile)
            expect(failures, "<del>Hà Tiên</del>" in page and "<ins>Phú Quốc</ins>" in page,
                   "the diff page marks the changed word")
        finally:
            server.terminate()
            server.wait(timeout=30)


def main():
    binary = os.path.abspath(sys.argv[1])
    shipped = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "config", "gazette.toml")
    if shutil.which("chromium") is None:
        raise SystemExit("reader check: chromium is not installed")
    os.makedirs(SHOTS, exist_ok=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="gazette-chromium-") as profile:
        demo_checks(binary, profile, failures)
        diff_checks(binary, shipped, profile, failures)
    print(f"reader check: screenshots in {SHOTS}")
    if failures:
        print("reader check FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("reader check: every page passed")


if __name__ == "__main__":
    main()
