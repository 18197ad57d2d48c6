"""The changes of whole transactions reduced to one row image (or a delete) per primary key.

Within a micro-batch only the last change of a key counts: an insert then an update is one upsert, an
update then a delete one delete. An update that moves a row to a new key deletes the old key. An update
that leaves a TOASTed value unchanged does not send it ('u'): it is filled from the old row (REPLICA IDENTITY
FULL) or from the key's earlier image in this batch, else refused with what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tenantflow.config.cdc import DELETED_COLUMN
from tenantflow.sources.pgoutput import UNCHANGED, Change, Relation, UnsupportedChange, rows_to_table

if TYPE_CHECKING:
    import pyarrow as pa

Key = tuple[Any, ...]


@dataclass
class ChangeSet:
    relation: Relation
    slot: str
    keys: tuple[str, ...]  # the primary key (with REPLICA IDENTITY FULL the relation flags every column as key)
    images: dict[Key, tuple[Any, ...] | None] = field(default_factory=dict)  # None: the key was deleted
    changes: int = 0

    def __post_init__(self) -> None:
        names = [c.name for c in self.relation.columns]
        self._key_positions = [names.index(k) for k in self.keys]

    def _key(self, values: tuple[Any, ...]) -> Key:
        return tuple(values[i] for i in self._key_positions)

    def apply(self, change: Change) -> None:
        self.changes += 1
        if change.op == "I":
            assert change.new is not None
            self.images[self._key(change.new)] = change.new
        elif change.op == "D":
            assert change.old is not None
            self.images[self._key(change.old)] = None
        else:
            assert change.new is not None
            new_key = self._key(change.new)
            if change.old is not None and self._key(change.old) != new_key:  # the key itself changed
                self.images[self._key(change.old)] = None
            self.images.pop(new_key, None)  # re-inserted at the end: the order of last changes is kept
            self.images[new_key] = self._fill_unchanged(change, new_key)

    def _fill_unchanged(self, change: Change, key: Key) -> tuple[Any, ...]:
        assert change.new is not None
        if not any(v is UNCHANGED for v in change.new):
            return change.new
        earlier = self.images.get(key)
        values = list(change.new)
        for i, value in enumerate(values):
            if value is not UNCHANGED:
                continue
            if change.old is not None and not change.old_is_key and change.old[i] is not UNCHANGED:
                values[i] = change.old[i]
            elif earlier is not None and earlier[i] is not UNCHANGED:
                values[i] = earlier[i]
            else:
                column = self.relation.columns[i].name
                raise UnsupportedChange(
                    f"an UPDATE of {self.relation.qualified} key {key} left the large (TOASTed) value of column "
                    f"{column!r} unchanged, and the change stream does not carry it (REPLICA IDENTITY is "
                    f"{self.relation.replica_identity!r}). Run `ALTER TABLE {self.relation.qualified} REPLICA "
                    f"IDENTITY FULL`, then drop the slot (`SELECT pg_drop_replication_slot('{self.slot}')`): the next "
                    "run copies the table again and streams from there."
                )
        return tuple(values)

    def to_table(self) -> pa.Table:
        """One row per key: the last image, or the key with ``_cdc_deleted`` true."""
        import pyarrow as pa

        width = len(self.relation.columns)
        rows, deleted = [], []
        for key, image in self.images.items():
            if image is None:
                row: list[Any] = [None] * width
                for position, value in zip(self._key_positions, key, strict=True):
                    row[position] = value
                rows.append(tuple(row))
            else:
                rows.append(image)
            deleted.append(image is None)
        return rows_to_table(self.relation.columns, rows, {DELETED_COLUMN: pa.array(deleted, pa.bool_())})
