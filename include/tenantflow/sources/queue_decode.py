"""Queue messages -> one Arrow table per micro-batch, with the pipeline's ``column_types``; poison set aside.

One message is one row: a JSON object (``format: json``), or the record(s) of an Avro object container
(``format: avro``: the message carries its writer schema, which types the columns it holds). Where the
message says what it is, that wins over the pipeline's ``format``: its content type (RabbitMQ's
``content_type`` property, e.g. ``application/avro`` / ``avro/binary`` or ``application/json``), else an
Avro container's magic bytes; so one queue may carry both (``message_format``). A message that
is not JSON / not an Avro container / not an object, lacks a declared column, or has a value its declared
type cannot take, is a poison message: it goes to the batch's rejects with that reason and its raw payload,
and the other messages load.

Undeclared columns keep the types the values have (JSON) or the writer schema gives (Avro); a column
whose JSON values mix types is kept as text (declare it in ``column_types`` to type it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.column_types import arrow_type

if TYPE_CHECKING:
    import pyarrow as pa

AVRO_MAGIC = b"Obj\x01"  # an Avro object container file starts with it


@dataclass(frozen=True)
class Message:
    """One received message: its id (for dedup and rejects) and payload."""

    id: str
    body: bytes
    content_type: str | None = None  # what the broker says the payload is, when it says it


def message_format(message: Message, default: str) -> str:
    """'avro' or 'json': the message's content type if it names one, else Avro's magic bytes, else ``default``."""
    declared = (message.content_type or "").lower()
    if "avro" in declared:
        return "avro"
    if "json" in declared:
        return "json"
    return "avro" if message.body.startswith(AVRO_MAGIC) else default


def _raw(body: bytes) -> str:
    return body.decode("utf-8", "replace") if not body.startswith(AVRO_MAGIC) else f"<avro, {len(body)} bytes>"


def decode_messages(
    messages: Sequence[Message], *, format: str, column_types: Mapping[str, str], origin: str, bad_rows: BadRows,
) -> list[pa.Table]:
    """The rows of ``messages`` as (at most) one table; poison messages are added to ``bad_rows``.

    ``origin`` names where they came from (e.g. ``rabbitmq queue store_events``) in the rejects."""
    rows: list[dict[str, Any]] = []
    owners: list[Message] = []  # the message of each row
    hints: dict[str, pa.DataType] = {}  # Avro: the writer schema's column types
    for message in messages:
        where = f"{origin} message {message.id}"
        decoded = _avro(message.body, hints) if message_format(message, format) == "avro" else _json(message.body)
        if isinstance(decoded, str):
            bad_rows.add(where, None, decoded, _raw(message.body))
            continue
        missing = [c for c in column_types if any(c not in row for row in decoded)]
        if missing:
            bad_rows.add(where, None, f"missing column {missing[0]!r}", _raw(message.body), missing[0])
            continue
        rows.extend(decoded)
        owners.extend([message] * len(decoded))
    if not rows:
        return []
    return [_table(rows, owners, column_types, hints, origin, bad_rows)]


def _json(body: bytes) -> list[dict[str, Any]] | str:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not JSON ({str(exc).split(':')[0]})"
    if not isinstance(value, dict):
        return f"not a JSON object (a {type(value).__name__})"
    return [value]


def _avro(body: bytes, hints: dict[str, pa.DataType]) -> list[dict[str, Any]] | str:
    import fastavro

    from tenantflow.sources.avro import arrow_type as avro_arrow_type

    if not body.startswith(AVRO_MAGIC):
        return "not an Avro object container (it carries the writer schema; see README, Queue sources)"
    try:
        reader = fastavro.reader(io.BytesIO(body))
        schema = reader.writer_schema
        if not isinstance(schema, dict) or schema.get("type") != "record":
            return "Avro writer schema is not a record"
        records = list(reader)
        for f in schema["fields"]:
            hints.setdefault(f["name"], avro_arrow_type(f["type"])[0])
    except Exception as exc:  # noqa: BLE001 - whatever a corrupt container raises, it is this message's fault
        return f"not a valid Avro container ({type(exc).__name__}: {str(exc)[:80]})"
    if not records:
        return "Avro container holds no record"
    return records


def _table(rows: list[dict[str, Any]], owners: list[Message], column_types: Mapping[str, str],
           hints: Mapping[str, pa.DataType], origin: str, bad_rows: BadRows) -> pa.Table:
    import pyarrow as pa

    names = list(dict.fromkeys(name for row in rows for name in row))
    columns: dict[str, pa.Array] = {}
    failed: dict[int, tuple[str, str]] = {}  # row -> (column, reason), the first failing column
    for name in names:
        values = [row.get(name) for row in rows]
        if name in column_types:
            columns[name], bad = _declared(values, column_types[name])
            for index in bad:
                failed.setdefault(index, (name, f"not a valid {column_types[name]}: {_quote(values[index])}"))
        else:
            columns[name] = _inferred(values, hints.get(name))
    table = pa.table(columns)
    if not failed:
        return table
    rejected = set()
    for index, (column, reason) in sorted(failed.items()):
        message = owners[index]
        if message.id not in rejected:  # an Avro message with several bad records is rejected once
            rejected.add(message.id)
            bad_rows.add(f"{origin} message {message.id}", None, reason, _raw(message.body), column)
    keep = pa.array([owners[i].id not in rejected for i in range(len(rows))])
    return table.filter(keep)


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _declared(values: list[Any], name: str) -> tuple[pa.Array, list[int]]:
    """(the column in its declared type, rows whose value does not convert: NULL there)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    target = arrow_type(name)
    try:
        return pc.cast(pa.array(values), target), []
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    out, bad = [], []
    for index, value in enumerate(values):  # only a column holding a bad value is converted one by one
        try:
            out.append(None if value is None else pc.cast(pa.array([value]), target)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            out.append(None)
            bad.append(index)
    return pa.array(out, target), bad


def _inferred(values: list[Any], hint: pa.DataType | None) -> pa.Array:
    import pyarrow as pa

    try:
        return pa.array(values, hint) if hint is not None else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        text = [v if v is None or isinstance(v, str) else json.dumps(v, default=str) for v in values]
        return pa.array(text, pa.string())
