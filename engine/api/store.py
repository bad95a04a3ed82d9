"""The API server's jobs, kept in SQLite under the data directory (embedded: nothing to install).

One row per job: its name and ARN, the request as the caller sent it, the status with
its times and failure reason, and the folder of its results files. Every change is
written at once (autocommit, WAL journal), so a server killed at any moment restarts
with every job it had accepted; ``unfinished`` lists the ones that were running then.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loadrec.engine.measurement.outcome import NOT_ENDED

DATABASE = "jobs.sqlite3"
ACTIVE = tuple(sorted(NOT_ENDED))  # a job not yet ended (a tuple: the query binds one mark each)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    modified REAL NOT NULL,
    completed REAL,
    failure_reason TEXT,
    folder TEXT NOT NULL
)
"""
_COLUMNS = ("name", "arn", "request", "status", "created", "modified", "completed", "failure_reason", "folder")


class JobExists(Exception):
    """A job of that name is already stored."""


@dataclass(frozen=True)
class JobRecord:
    name: str
    arn: str
    request: dict[str, Any]  # as the caller sent it (never holds a secret: the Loadrec key is refused)
    status: str
    created: float
    modified: float
    completed: float | None
    failure_reason: str | None
    folder: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class JobStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DATABASE
        # One connection, used from the server's one thread (gevent greenlets take turns on it).
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, record: JobRecord) -> None:
        values = [getattr(record, column) for column in _COLUMNS]
        values[2] = json.dumps(record.request)
        try:
            self._db.execute(f"INSERT INTO jobs VALUES ({', '.join('?' * len(_COLUMNS))})", values)
        except sqlite3.IntegrityError:
            raise JobExists(record.name) from None

    def get(self, name: str) -> JobRecord | None:
        row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE name = ?", (name,)).fetchone()
        return _record(row) if row else None

    def all(self) -> list[JobRecord]:
        return [_record(row) for row in self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs")]

    def unfinished(self) -> list[JobRecord]:
        return [record for record in self.all() if record.active]

    def count_active(self) -> int:
        marks = ", ".join("?" * len(ACTIVE))
        return int(self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})", ACTIVE).fetchone()[0])

    def update(self, record: JobRecord, **changes: Any) -> JobRecord:
        """Store ``record`` with ``changes`` (status, modified, completed, failure_reason); returns it."""
        changed = replace(record, **changes)
        self._db.execute(
            "UPDATE jobs SET status = ?, modified = ?, completed = ?, failure_reason = ? WHERE name = ?",
            (changed.status, changed.modified, changed.completed, changed.failure_reason, changed.name),
        )
        return changed


def _record(row: tuple[Any, ...]) -> JobRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["request"] = json.loads(values["request"])
    return JobRecord(**values)
