"""Runs the W3C Feed Validator on every RSS and Atom document of `gazette demo`: the live source
and section feeds and every RFC 5005 month archive reached through prev-archive links.

Usage: python3 validate_demo.py path/to/gazette path/to/validate-feeds
Exits with the validator's status (1 on any error or warning).
"""

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def prev_archive(document):
    """The prev-archive link of an Atom or RSS document, read from its links."""
    for link in re.findall(rb"<(?:atom:)?link\s[^>]*>", document):
        if b'rel="prev-archive"' in link:
            href = re.search(rb'href="([^"]*)"', link)
            if href:
                return href.group(1).decode().replace("&amp;", "&")
    return None


def urls(base):
    found = []
    for source in json.loads(fetch(f"{base}/api/sources"))["sources"]:
        feeds = [source["feeds"]] + [section["feeds"] for section in source["sections"]]
        for feed in feeds:
            for kind in ("rss", "atom"):
                url = feed[kind]
                while url and url not in found:
                    found.append(url)
                    url = prev_archive(fetch(url))
    return found


def main():
    binary, validator = sys.argv[1], sys.argv[2]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = subprocess.Popen([binary, "demo", "--listen", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    try:
        for line in demo.stderr:
            if "ready" in line:
                break
        else:
            sys.exit("gazette demo stopped before it was ready")
        threading.Thread(target=lambda: [None for _ in demo.stderr], daemon=True).start()
        documents = urls(base)
        print(f"validating {len(documents)} RSS and Atom documents of the demo")
        status = subprocess.run([validator, *documents]).returncode
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=10)
    sys.exit(status)


if __name__ == "__main__":
    main()
