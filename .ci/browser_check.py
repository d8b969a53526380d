"""Checks in a real browser that a captured page served by /api/articles/{id}/raw cannot run script.

A captured page is whatever the portal sent, so it may carry script. gazette serves it with
`Content-Security-Policy: sandbox; default-src 'none'; ...`, which must stop every script and
every automatic navigation. This check:

1. starts a canary HTTP server on loopback that records every request;
2. imports, with gazette's own CLI, an archive holding one article whose capture is a hostile page
   whose every script or navigation vector would call the canary;
3. serves that archive with `gazette serve` and opens the raw capture in headless Chromium;
4. asserts the canary received nothing, and, as a control that the check can fail, that the same
   page served without gazette's headers (by Python's http.server) does make Chromium call it.

Usage: python3 browser_check.py path/to/gazette [config/gazette.toml]
Exits 1 on failure, printing which vectors reached the canary.
"""

import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request

SOURCE_ID = "hostile"
ARTICLE_ID = "hostile:1"
# A schedule that fires on 1 January 2099 only: no crawl runs during the check (missed fire times
# are not replayed by the scheduler).
NEVER = "0 0 0 1 1 * 2099"
CHROMIUM_LIMIT = 20  # seconds Chromium may take for one page
# Vectors that reach the canary without script or navigation (see hostile_page).
NOT_SCRIPT = ("link-prefetch",)
CHROMIUM_WAIT = 3  # seconds to wait after Chromium exits for late requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Canary:
    """An HTTP server on loopback that records the path of every request it receives."""

    def __init__(self):
        self.requests = []
        lock = threading.Lock()
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def record(self):
                with lock:
                    requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = record

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, vector):
        return f"http://127.0.0.1:{self.port}/{vector}"

    def received(self):
        return list(self.requests)

    def clear(self):
        del self.requests[:]


def hostile_page(canary):
    """A page whose script and navigation vectors each call the canary on their own path.

    Only script and navigation vectors count: the required policy has `img-src *` and
    `style-src * 'unsafe-inline'`, so a plain <img src=canary> or a stylesheet WOULD reach the
    canary legitimately. The one resource hint here, <link rel=prefetch>, is requested by Chromium
    whatever `default-src` says; it runs nothing and gives a page no more than `img-src *` already
    does, so it is reported but not failed (NOT_SCRIPT). Every other vector below can only reach
    the canary through script that ran or a navigation the sandbox should have stopped.
    """
    c = canary.url

    def call(vector):
        # A JavaScript call in single quotes, so it sits inside a double-quoted attribute.
        return f"fetch('{c(vector)}').catch(function(){{}})"

    return f"""<!doctype html>
<html><head><meta charset="utf-8">
<title>hostile capture</title>
<meta http-equiv="refresh" content="1;url={c('meta-refresh')}">
<script>{call('inline-fetch')};</script>
<script>new Image().src = '{c('inline-new-image')}';</script>
<script>navigator.sendBeacon('{c('inline-beacon')}', 'x');</script>
<script src="{c('script-src')}"></script>
<link rel="prefetch" href="{c('link-prefetch')}">
</head>
<body onload="{call('body-onload')}">
<h1 id="marker">gazette hostile capture</h1>
<img src="x-missing.png" onerror="{call('img-onerror')}">
<svg onload="{call('svg-onload')}"></svg>
<iframe srcdoc="&lt;script&gt;{call('iframe-srcdoc')}&lt;/script&gt;"></iframe>
<form id="f" action="{c('form-submit')}" method="get"><input name="q" value="1"></form>
<script>setTimeout(function() {{ document.getElementById('f').submit(); }}, 500);</script>
<input autofocus onfocus="{call('autofocus-onfocus')}">
</body></html>
"""


def content_hash(title, published, body_text):
    """What gazette computes and `import` checks: SHA-256 of the title, the published time as
    RFC 3339 and the body text, a line each."""
    return hashlib.sha256(f"{title}\n{published}\n{body_text}".encode()).hexdigest()


def export_line(page):
    """One line of `gazette export --raw`: an article with one revision whose capture is `page`."""
    now = "2026-01-01T00:00:00+07:00"
    article = {
        "id": ARTICLE_ID,
        "source": SOURCE_ID,
        "section": "news",
        "url": "http://127.0.0.1/article/1",
        "title": "hostile capture",
        "published": now,
        "published_inferred": False,
        "category": None,
        "credit": None,
        "summary": "",
        "body_html": "<p>text</p>",
        "body_text": "text",
        "images": [],
        "attachments": [],
        "content_hash": content_hash("hostile capture", now, "text"),
    }
    revision = {
        "number": 1,
        "fetched_at": now,
        "article": article,
        "capture": {
            "url": "http://127.0.0.1/article/1",
            "status": 200,
            "headers": [["content-type", "text/html; charset=utf-8"]],
        },
        "raw_base64": base64.b64encode(page.encode()).decode(),
    }
    archived = {
        "article": article,
        "first_seen": now,
        "updated": now,
        "revisions": 1,
        "gone_at": None,
    }
    return json.dumps({"archived": archived, "revisions": [revision]}) + "\n"


def set_key(text, key, value):
    """Sets the first `key = ...` line of the shipped config, keeping its comment."""
    pattern = re.compile(rf"^(\s*){re.escape(key)}\s*=.*?(\s+#.*)?$", re.M)
    new, count = pattern.subn(lambda m: f"{m.group(1)}{key} = {value}", text, count=1)
    if count != 1:
        raise SystemExit(f"browser check: the shipped config has no {key} line")
    return new


def write_config(shipped_path, directory, listen, dead_port):
    """The shipped config with the few keys this check needs changed, checked with tomllib."""
    with open(shipped_path, encoding="utf-8") as f:
        text = f.read()
    storage = os.path.join(directory, "archive")
    base = f"http://127.0.0.1:{dead_port}/"
    changes = {
        "listen": json.dumps(listen),
        "public_url": json.dumps(f"http://{listen}/"),
        "path": json.dumps(storage),
        "id": json.dumps(SOURCE_ID),
        "base_url": json.dumps(base),
        "allowed_hosts": json.dumps(["127.0.0.1"]),
        "schedule": json.dumps(NEVER),
    }
    for key, value in changes.items():
        text = set_key(text, key, value)
    config = tomllib.loads(text)
    source = config["sources"][0]
    want = (config["server"]["listen"], config["storage"]["path"], source["id"], source["base_url"], source["schedule"])
    if want != (listen, storage, SOURCE_ID, base, NEVER):
        raise SystemExit(f"browser check: the config rewrite went wrong: {want}")
    path = os.path.join(directory, "gazette.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"browser check: {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def wait_until_up(url, process, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"browser check: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"browser check: {url} did not answer within {seconds} s")


def open_in_chromium(url, profile):
    """Loads `url` in headless Chromium with a virtual time budget; returns the dumped DOM.

    A page that navigates away (a form submitted by script) can keep `--dump-dom` from ever
    finishing: Chromium is then stopped after CHROMIUM_LIMIT seconds, its requests already made.
    """
    args = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url,
    ]
    browser = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    try:
        dom, _ = browser.communicate(timeout=CHROMIUM_LIMIT)
    except subprocess.TimeoutExpired:
        print(f"  (Chromium still busy after {CHROMIUM_LIMIT} s: stopped)")
        os.killpg(browser.pid, signal.SIGKILL)
        dom, _ = browser.communicate()
    time.sleep(CHROMIUM_WAIT)
    return dom or ""


def serve_without_headers(page):
    """The same page from Python's http.server on loopback: no CSP, no sandbox."""
    body = page.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/page.html":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/page.html"


def main():
    binary = os.path.abspath(sys.argv[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shipped = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "config", "gazette.toml")
    if shutil.which("chromium") is None:
        raise SystemExit("browser check: chromium is not installed")
    canary = Canary()
    page = hostile_page(canary)
    failures = []
    with tempfile.TemporaryDirectory(prefix="gazette-browser-") as directory:
        listen = f"127.0.0.1:{free_port()}"
        config = write_config(shipped, directory, listen, free_port())
        export = os.path.join(directory, "hostile.jsonl")
        with open(export, "w", encoding="utf-8") as f:
            f.write(export_line(page))
        run([binary, "check", "--config", config])
        run([binary, "import", "--config", config, "--in", export])

        server = subprocess.Popen(
            [binary, "serve", "--config", config],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            wait_until_up(f"http://{listen}/healthz", server)
            raw_url = f"http://{listen}/api/articles/{urllib.parse.quote(ARTICLE_ID, safe=':')}/raw"
            with urllib.request.urlopen(raw_url, timeout=10) as response:
                served = response.read().decode()
                headers = response.headers
            # A 404 or an empty answer would pass trivially: the page must be the capture.
            if served != page:
                raise SystemExit(f"browser check: {raw_url} did not answer the imported capture")
            print(f"raw capture: {raw_url}")
            for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
                print(f"  {name}: {headers.get(name, '(absent)')}")
            canary.clear()
            dom = open_in_chromium(raw_url, os.path.join(directory, "profile-gazette"))
            if "gazette hostile capture" not in dom:
                failures.append("Chromium dumped no DOM holding the raw capture's marker (it navigated away or hung)")
            reached = canary.received()
            hints = [r for r in reached if any(f"/{v}" in r for v in NOT_SCRIPT)]
            ran = [r for r in reached if r not in hints]
            if hints:
                print("gazette: resource hints reached the canary (no script, allowed): " + ", ".join(hints))
            if ran:
                failures.append("the raw capture from gazette ran script or navigated: the canary received "
                                + ", ".join(ran))
            else:
                print("gazette: no script ran and nothing navigated: the canary received no script or navigation request")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

        # The control: without gazette's headers the same page must reach the canary, or the
        # check above proves nothing.
        control, control_url = serve_without_headers(page)
        try:
            canary.clear()
            open_in_chromium(control_url, os.path.join(directory, "profile-control"))
            reached = canary.received()
        finally:
            control.shutdown()
        if any("inline-fetch" in r for r in reached):
            print(f"control (no headers): the canary received {len(reached)} request(s): " + ", ".join(reached))
        else:
            failures.append("control: the page served without headers did not make Chromium call the canary "
                            f"(received: {reached or 'nothing'}); the check cannot tell a safe server from an unsafe one")

    if failures:
        for failure in failures:
            print(f"FAIL: {failure}")
        print("browser check: 0 passed, 1 failed")
        sys.exit(1)
    print("browser check: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
