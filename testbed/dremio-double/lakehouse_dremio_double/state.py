"""The double's store: users, sources and promoted datasets, kept across restarts.

Dremio keeps these in its KV store under ``paths.local`` (``/opt/dremio/data``); so does the
double, as one JSON file, with the store's version. A store written by an older version
is refused at start until ``dremio-admin upgrade`` has run, as Dremio refuses it (its
``auto-upgrade`` is off by default).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STORE_FILE = "double-kvstore.json"


def _hash(password: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def new_tag() -> str:
    return secrets.token_urlsafe(8)


@dataclass
class User:
    id: str
    name: str
    first_name: str
    last_name: str
    email: str
    salt: str
    password_hash: str
    tag: str = field(default_factory=new_tag)
    created_at: int = 0

    def password_is(self, password: str) -> bool:
        return secrets.compare_digest(self.password_hash, _hash(password, self.salt))

    def set_password(self, password: str) -> None:
        self.salt = secrets.token_hex(8)
        self.password_hash = _hash(password, self.salt)

    def v3(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "tag": self.tag,
            "active": True,
        }


@dataclass
class Dataset:
    """A promoted Delta table, pinned at the version read at promotion or refresh."""

    id: str
    path: list[str]
    version: int
    tag: str = field(default_factory=new_tag)
    created_at: int = 0
    refreshed_at: int = 0


@dataclass
class Store:
    version: str
    users: dict[str, User] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> source entity
    datasets: dict[str, Dataset] = field(default_factory=dict)  # id -> dataset
    # Spaces, their folders and views: id -> entity ({"id", "path", "tag", "kind", ...}).
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)


class KVStore:
    """Thread-safe, persisted to ``<data>/double-kvstore.json`` after every change."""

    def __init__(self, data_dir: Path | None, version: str) -> None:
        self.path = data_dir / STORE_FILE if data_dir else None
        self.lock = threading.RLock()
        self.store = self._load(version)

    def _load(self, version: str) -> Store:
        if self.path is None or not self.path.is_file():
            return Store(version)
        raw = json.loads(self.path.read_text())
        return Store(
            raw["version"],
            {k: User(**v) for k, v in raw["users"].items()},
            raw["sources"],
            {k: Dataset(**v) for k, v in raw["datasets"].items()},
            raw.get("spaces", {}),  # stores written before spaces existed have none
        )

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {
                "version": self.store.version,
                "users": {k: asdict(v) for k, v in self.store.users.items()},
                "sources": self.store.sources,
                "datasets": {k: asdict(v) for k, v in self.store.datasets.items()},
                "spaces": self.store.spaces,
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2))
            os.replace(tmp, self.path)

    # --- users --------------------------------------------------------------------------
    def add_user(self, name: str, first: str, last: str, email: str, password: str) -> User:
        salt = secrets.token_hex(8)
        user = User(str(uuid.uuid4()), name, first, last, email, salt, _hash(password, salt))
        with self.lock:
            self.store.users[user.id] = user
            self.save()
        return user

    def user_by_name(self, name: str) -> User | None:
        return next((u for u in self.store.users.values() if u.name == name), None)

    # --- datasets -----------------------------------------------------------------------
    def dataset_by_path(self, path: list[str]) -> Dataset | None:
        lowered = [p.lower() for p in path]
        return next(
            (d for d in self.store.datasets.values() if [p.lower() for p in d.path] == lowered),
            None,
        )

    def source_by_name(self, name: str) -> dict[str, Any] | None:
        return next(
            (s for s in self.store.sources.values() if str(s["name"]).lower() == name.lower()),
            None,
        )
