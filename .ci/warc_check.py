#!/usr/bin/env python3
"""Reads every WARC file of a directory with warcio, as web-archive tools do.

Usage: warc_check.py DIR [EXPECTED.json]

Each *.warc.gz file is read with warcio's ArchiveIterator with digest checking on (the checks of
`warcio check`): every block and payload digest must match, and every file must open with a
warcinfo record. Prints the record counts by WARC-Type as JSON; exits 1 on any problem, naming
the file, offset and record. With EXPECTED.json ({"files": N, "records": {type: count}}, as
gazette's own reader counted them), the counts must be those.
"""

import json
import sys
from collections import Counter
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed


def check_file(path, counts, problems):
    with open(path, "rb") as stream:
        records = ArchiveIterator(stream, check_digests=True)
        first = True
        for record in records:
            # The digests are checked as the content is read to its end.
            content = record.content_stream()
            while content.read(1 << 20):
                pass
            kind = record.rec_headers.get_header("WARC-Type")
            where = "{} at offset {} ({} {})".format(
                path.name,
                records.get_record_offset(),
                kind,
                record.rec_headers.get_header("WARC-Record-ID"),
            )
            counts[kind] += 1
            if first and kind != "warcinfo":
                problems.append("{}: the file does not open with warcinfo".format(where))
            first = False
            checker = record.digest_checker
            if checker.passed is False:
                problems.extend("{}: {}".format(where, p) for p in checker.problems)
            elif checker.passed is None and kind != "revisit":
                problems.append("{}: no digest to check".format(where))
        if first:
            problems.append("{}: no records".format(path.name))


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    directory = Path(argv[1])
    files = sorted(directory.glob("*.warc.gz"))
    if not files:
        print("{}: no .warc.gz files".format(directory), file=sys.stderr)
        return 1
    counts = Counter()
    problems = []
    for path in files:
        try:
            check_file(path, counts, problems)
        except ArchiveLoadFailed as error:
            problems.append("{}: warcio cannot read on: {}".format(path.name, str(error).strip()))
    found = {"files": len(files), "records": dict(sorted(counts.items()))}
    print(json.dumps(found, sort_keys=True))
    if len(argv) == 3:
        expected = json.loads(Path(argv[2]).read_text())
        if found != expected:
            problems.append("warcio counts {} where gazette wrote {}".format(
                json.dumps(found, sort_keys=True), json.dumps(expected, sort_keys=True)))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
