"""SQLite persistence for the Durable engine (stdlib ``sqlite3``, WAL).

Tables:

- ``instances``: one row per orchestration instance (current execution only), with the engine's
  replay bookkeeping (``engine_state``: next sequence id, actions already materialised, retry
  state) so it is committed together with the history it describes.
- ``history``: the DTFx history of each instance's current execution, in order.
- ``messages``: the instance's inbox: events waiting to be appended to its history at the next
  episode (start, task/sub-orchestration completions, raised events, terminate), and durable
  timers (``TimerFired`` events that become visible at their ``fireAt``).
- ``activities``: activity invocations scheduled but not yet completed.

Every orchestration episode is one transaction (new history events, consumed messages, new
messages and activities, instance row), and an activity completion is one transaction (delete
the activity, add the completion message). A process killed at any point restarts from the last
commit: scheduled activities run again (at-least-once), completions already committed are kept.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ActivityRow", "InstanceRow", "MessageRow", "Store", "Transaction"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    engine_state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, position)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    kind TEXT NOT NULL,
    visible_at TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_instance ON messages (instance_id, id);
CREATE INDEX IF NOT EXISTS messages_by_kind_time ON messages (kind, visible_at);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE INDEX IF NOT EXISTS activities_by_instance ON activities (instance_id);
"""

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated"})


@dataclass
class InstanceRow:
    """An orchestration instance. Times are ``format_time`` strings; payloads are JSON text."""

    instance_id: str
    name: str
    execution_id: str
    runtime_status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    parent_task_id: int | None = None
    engine_state: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.runtime_status in TERMINAL_STATUSES


@dataclass(frozen=True)
class MessageRow:
    """A message in an instance's inbox. ``execution_id`` None means "whichever is current"."""

    id: int
    instance_id: str
    execution_id: str | None
    kind: str
    visible_at: str
    event: dict[str, Any]


@dataclass(frozen=True)
class ActivityRow:
    """A scheduled activity invocation."""

    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


_INSTANCE_COLUMNS = (
    "instance_id, name, execution_id, runtime_status, input, output, custom_status, created_time, "
    "last_updated_time, parent_instance_id, parent_execution_id, parent_task_id, engine_state"
)


def _instance(row: sqlite3.Row | tuple[Any, ...]) -> InstanceRow:
    return InstanceRow(
        instance_id=row[0],
        name=row[1],
        execution_id=row[2],
        runtime_status=row[3],
        input=row[4],
        output=row[5],
        custom_status=row[6],
        created_time=row[7],
        last_updated_time=row[8],
        parent_instance_id=row[9],
        parent_execution_id=row[10],
        parent_task_id=row[11],
        engine_state=json.loads(row[12]),
    )


class Transaction:
    """Writes made inside ``Store.transaction()``; all or nothing."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def put_instance(self, inst: InstanceRow) -> None:
        self._conn.execute(
            f"INSERT OR REPLACE INTO instances ({_INSTANCE_COLUMNS}) "  # noqa: S608 - fixed column list
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                inst.instance_id,
                inst.name,
                inst.execution_id,
                inst.runtime_status,
                inst.input,
                inst.output,
                inst.custom_status,
                inst.created_time,
                inst.last_updated_time,
                inst.parent_instance_id,
                inst.parent_execution_id,
                inst.parent_task_id,
                json.dumps(inst.engine_state),
            ),
        )

    def append_history(self, instance_id: str, start: int, events: list[dict[str, Any]]) -> None:
        self._conn.executemany(
            "INSERT INTO history (instance_id, position, event) VALUES (?,?,?)",
            [(instance_id, start + i, json.dumps(e)) for i, e in enumerate(events)],
        )

    def clear_history(self, instance_id: str) -> None:
        self._conn.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    def add_message(
        self,
        instance_id: str,
        execution_id: str | None,
        kind: str,
        visible_at: str,
        event: dict[str, Any],
    ) -> None:
        self._conn.execute(
            "INSERT INTO messages (instance_id, execution_id, kind, visible_at, event) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, kind, visible_at, json.dumps(event)),
        )

    def delete_messages(self, ids: list[int]) -> None:
        self._conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    def delete_instance_messages(self, instance_id: str, execution_id: str | None = None) -> None:
        """Drop an instance's inbox; with ``execution_id``, only messages bound to that execution."""
        if execution_id is None:
            self._conn.execute("DELETE FROM messages WHERE instance_id = ?", (instance_id,))
        else:
            self._conn.execute(
                "DELETE FROM messages WHERE instance_id = ? AND execution_id = ?",
                (instance_id, execution_id),
            )

    def add_activity(self, instance_id: str, execution_id: str, task_id: int, name: str, input_text: str | None) -> int:
        cur = self._conn.execute(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, task_id, name, input_text),
        )
        return int(cur.lastrowid or 0)

    def delete_activity(self, activity_id: int) -> bool:
        """Delete a scheduled activity; False if it was already gone."""
        cur = self._conn.execute("DELETE FROM activities WHERE id = ?", (activity_id,))
        return cur.rowcount > 0

    def delete_instance_activities(self, instance_id: str) -> None:
        self._conn.execute("DELETE FROM activities WHERE instance_id = ?", (instance_id,))

    def delete_instance(self, instance_id: str) -> None:
        """Purge: the instance, its history, inbox and scheduled activities."""
        for table in ("instances", "history", "messages", "activities"):
            self._conn.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))  # noqa: S608  # nosec B608 # table and column names are constants; values are bound


class Store:
    """The engine's SQLite database. Use it from one thread at a time (the event loop's)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across a process crash (SIGKILL); only an OS crash may lose the tail.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic write: committed when the block exits, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # ---- reads -------------------------------------------------------------------------------

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?",  # noqa: S608  # nosec B608 # table and column names are constants; values are bound
                (instance_id,),
            ).fetchone()
        return _instance(row) if row is not None else None

    def list_instances(
        self,
        *,
        created_from: str | None = None,
        created_to: str | None = None,
        statuses: list[str] | None = None,
        prefix: str | None = None,
    ) -> list[InstanceRow]:
        where: list[str] = []
        args: list[Any] = []
        if created_from:
            where.append("created_time >= ?")
            args.append(created_from)
        if created_to:
            where.append("created_time <= ?")
            args.append(created_to)
        if statuses:
            where.append(f"runtime_status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        if prefix:
            where.append("substr(instance_id, 1, ?) = ?")
            args.extend([len(prefix), prefix])
        sql = f"SELECT {_INSTANCE_COLUMNS} FROM instances"  # noqa: S608  # nosec B608 # table and column names are constants; values are bound
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_time, instance_id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_instance(r) for r in rows]

    def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT event FROM history WHERE instance_id = ? ORDER BY position", (instance_id,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def due_messages(self, instance_id: str, now: str) -> list[MessageRow]:
        """The instance's messages visible at ``now``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, instance_id, execution_id, kind, visible_at, event FROM messages "
                "WHERE instance_id = ? AND visible_at <= ? ORDER BY id",
                (instance_id, now),
            ).fetchall()
        return [MessageRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def instances_with_due_messages(self, now: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT instance_id FROM messages WHERE visible_at <= ?", (now,)
            ).fetchall()
        return [r[0] for r in rows]

    def next_timer_after(self, now: str) -> str | None:
        """The earliest ``visible_at`` of a timer not yet due at ``now``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(visible_at) FROM messages WHERE kind = 'timer' AND visible_at > ?", (now,)
            ).fetchone()
        return row[0] if row and row[0] else None

    def activities(self, activity_id: int | None = None) -> list[ActivityRow]:
        """All scheduled activities (or the one with ``activity_id``)."""
        sql = "SELECT id, instance_id, execution_id, task_id, name, input FROM activities"
        args: tuple[Any, ...] = ()
        if activity_id is not None:
            sql += " WHERE id = ?"
            args = (activity_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [ActivityRow(*r) for r in rows]
