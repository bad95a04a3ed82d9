"""A test's per-request records file (``--records``): taken as requests end, written off the load loop.

``RecordKeeper.offer`` takes records on the loop (from this process's recorder, or a
worker's report) and only holds them; ``flush``, run in a thread by each progress write
and at the end, checks them (a worker's are untrusted like any input), keeps them in the
test's ``Sample`` and rewrites ``tests/N/records.jsonl.gz`` whole, atomically: a reader,
or a run killed mid-write, finds the last complete file, never half of one. The file is
JSON lines, gzip-compressed: ``pandas.read_json(path, lines=True)`` reads it.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from loadrec.engine.measurement.records import RecordsSummary, Sample, is_record

RECORDS = "records.jsonl.gz"


class RecordKeeper:
    def __init__(self, folder: Path, shown_as: str, limit: int, write: Any) -> None:
        """``write(path, data)`` writes bytes atomically (the results folder's)."""
        self.path, self.shown_as, self.write = folder / RECORDS, shown_as, write
        self.sample = Sample(limit)
        self.damaged = 0
        self._pending: list[Any] = []

    def offer(self, records: Any) -> None:
        """Records to keep (on the loop: only held; anything but a list is damage)."""
        if isinstance(records, list):
            self._pending.extend(records)
        else:
            self.damaged += 1

    def flush(self) -> None:
        """Keep what was offered and write the file (in a thread; raises OSError as a write does)."""
        pending, self._pending = self._pending, []
        good = [record for record in pending if is_record(record)]
        self.damaged += len(pending) - len(good)
        self.sample.add(good)
        self.write(self.path, gzip.compress(self.sample.lines(), compresslevel=6))

    def summary(self, lost: int = 0) -> RecordsSummary:
        """``lost``: records the load process let go before they were offered (its recorder's count)."""
        sample = self.sample
        return RecordsSummary(self.shown_as, sample.kept, sample.seen, sample.stride, sample.limit, self.damaged, lost)
