"""The original tutorial's ``users`` example as two small JSON-lines batches.

Batch 2 updates a user (a move, with a newer timestamp), adds one, and carries a stale
change (older than what batch 1 recorded) that silver must ignore.
"""

from __future__ import annotations

import json

USER_BATCHES: dict[int, list[dict[str, object]]] = {
    1: [
        {"id": 1, "name": "Alice", "location": "New York", "timestamp": "2025-01-01T09:00:00Z"},
        {"id": 2, "name": "Bob", "location": "Chicago", "timestamp": "2025-01-01T09:05:00Z"},
        {"id": 3, "name": "Carol", "location": "New York", "timestamp": "2025-01-01T10:00:00Z"},
        {"id": 4, "name": "Dan", "location": "Austin", "timestamp": "2025-01-02T08:30:00Z"},
        {"id": 5, "name": "Erin", "location": "Chicago", "timestamp": "2025-01-02T11:15:00Z"},
    ],
    2: [
        {"id": 1, "name": "Alice", "location": "Boston", "timestamp": "2025-01-03T09:00:00Z"},
        {"id": 6, "name": "Frank", "location": "Austin", "timestamp": "2025-01-03T12:00:00Z"},
        {"id": 2, "name": "Bob", "location": "Denver", "timestamp": "2024-12-31T23:00:00Z"},
    ],
}


def users_jsonl(batch_id: int) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in USER_BATCHES[batch_id]).encode("utf-8")
