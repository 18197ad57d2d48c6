"""Masking of PII columns: hash (HMAC-SHA256, per-tenant secret), redact, partial (last 4), drop.

Every method keeps NULL as NULL and returns a string column (except ``drop``, which removes it).
Work is vectorised with pyarrow.compute; ``hash`` is the exception (no HMAC kernel in Arrow), so it
hashes each *distinct* value once and gathers the result with ``take``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.pii.findings import ColumnFinding

log = logging.getLogger(__name__)

MaskMethod = Literal["hash", "redact", "partial", "drop"]
REDACTED = "[REDACTED]"
KEEP_LAST = 4
# HMAC keys shorter than this are guessable; a tenant secret is a random 32+ character string.
MIN_SECRET_BYTES = 16


class MaskingError(ValueError):
    """A masking plan cannot be applied as written."""


def _as_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """string or large_string (kept: big chunks may not fit 32-bit offsets); anything else cast to string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _hmac_sha256_hex(secret: bytes, values: Iterable[bytes]) -> list[str]:
    """RFC 2104 HMAC-SHA256 (same digests as ``hmac.new(secret, v, sha256)``), keyed once.

    Copying the keyed inner/outer SHA-256 states per value is about twice as fast here as
    ``hmac.digest`` (which re-derives the key pads on every call): 1M values in ~1.3 s instead of 2.7 s.
    """
    block = hashlib.sha256().block_size
    key = hashlib.sha256(secret).digest() if len(secret) > block else secret
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    out = []
    for value in values:
        i = inner.copy()
        i.update(value)
        o = outer.copy()
        o.update(i.digest())
        out.append(o.hexdigest())
    return out


def hash_column(column: pa.ChunkedArray, secret: bytes | None) -> pa.ChunkedArray:
    """HMAC-SHA256 hex digest of each value's UTF-8 bytes (raw bytes for binary columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not secret or len(secret) < MIN_SECRET_BYTES:
        raise MaskingError(
            f"masking method 'hash' needs the tenant's PII secret of at least {MIN_SECRET_BYTES} bytes "
            "(the password of the tenant's '<tenant>__pii' connection)"
        )
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        column = _as_strings(column)
    chunks = []
    for chunk in column.chunks:
        encoded = pc.dictionary_encode(chunk)
        distinct = encoded.dictionary.cast(pa.binary()).to_pylist()
        digests = pa.array(_hmac_sha256_hex(secret, distinct), pa.string())
        chunks.append(digests.take(encoded.indices))
    return pa.chunked_array(chunks, pa.string())


def redact_column(column: pa.ChunkedArray, secret: bytes | None = None) -> pa.ChunkedArray:
    """Every non-NULL value becomes the fixed token ``[REDACTED]``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(pc.is_valid(column), pa.scalar(REDACTED), pa.scalar(None, pa.string()))


def partial_column(column: pa.ChunkedArray, secret: bytes | None = None) -> pa.ChunkedArray:
    """Keep the last 4 characters, replace the others by '*' (same length).

    A value of 4 characters or fewer is masked entirely: keeping "the last 4" would keep all of it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _as_strings(column)
    lengths = pc.utf8_length(column)
    long_enough = pc.greater(lengths, KEEP_LAST)
    star, empty = pa.scalar("*", column.type), pa.scalar("", column.type)
    stars = pc.binary_repeat(star, pc.if_else(long_enough, pc.subtract(lengths, KEEP_LAST), lengths))
    tail = pc.if_else(long_enough, pc.utf8_slice_codeunits(column, start=-KEEP_LAST), empty)
    return pc.binary_join_element_wise(stars, tail, empty)


MASKERS: dict[str, Callable[[pa.ChunkedArray, bytes | None], pa.ChunkedArray]] = {
    "hash": hash_column,
    "redact": redact_column,
    "partial": partial_column,
}
METHODS: tuple[str, ...] = (*MASKERS, "drop")


def apply_masking(table: pa.Table, plan: Mapping[str, str], secret: bytes | None = None) -> pa.Table:
    """Mask the columns named in ``plan`` (column -> method); other columns pass through untouched."""
    unknown_methods = {col: m for col, m in plan.items() if m not in METHODS}
    if unknown_methods:
        raise MaskingError(f"unknown masking method(s) {unknown_methods}; use one of {', '.join(METHODS)}")
    missing = sorted(set(plan) - set(table.column_names))
    if missing:
        raise MaskingError(
            f"masking plan names column(s) {missing} that the batch does not have; "
            f"columns are: {', '.join(table.column_names)}"
        )
    for name, method in plan.items():
        if method == "drop":
            continue
        index = table.schema.get_field_index(name)
        field = table.schema.field(index)
        masked = MASKERS[method](table.column(index), secret)
        table = table.set_column(index, field.with_type(masked.type), masked)
        log.debug("masked column %r with %r (%d rows)", name, method, table.num_rows)
    dropped = [name for name, method in plan.items() if method == "drop"]
    if dropped:
        table = table.drop_columns(dropped)
        log.debug("dropped PII column(s) %s", dropped)
    return table


def plan_masking(findings: Iterable[ColumnFinding], declared: Mapping[str, str], auto: str = "off") -> dict[str, str]:
    """The masking plan: declared methods win; ``auto`` masks detected columns the config did not declare.

    A declared method ``none`` means "known, keep clear" (e.g. a restricted table) and is left out of
    the plan — :func:`tenantflow.pii.classification.require_masked` still sees it as unmasked.
    """
    plan = {column: method for column, method in declared.items() if method != "none"}
    if auto != "off":
        if auto not in METHODS:
            raise MaskingError(f"pii.auto {auto!r} is not one of off, {', '.join(METHODS)}")
        for finding in findings:
            if finding.column not in declared:
                plan.setdefault(finding.column, auto)
    return plan


def _mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _mask_ipv4(value: str) -> str:
    return "***.***.***." + value.rsplit(".", 1)[-1]


def _mask_ipv6(value: str) -> str:
    import ipaddress

    # exploded, so a short form such as "::1" is not left readable inside its own mask
    last = ipaddress.ip_address(value.split("%")[0]).exploded.rsplit(":", 1)[-1]
    return "****:" * 7 + last


def _mask_generic(value: str) -> str:
    alnum = sum(ch.isalnum() for ch in value)
    keep = min(KEEP_LAST, alnum // 2)
    out, seen = [], 0
    for ch in value:
        if ch.isalnum():
            seen += 1
            out.append(ch if seen > alnum - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


SAMPLE_MASKERS: dict[str, Callable[[str], str]] = {"email": _mask_email, "ipv4": _mask_ipv4, "ipv6": _mask_ipv6}


def masked_sample(value: str, pii_type: str | None = None) -> str:
    """A log-safe rendering of one value: ``j***@example.com``, ``**** **** **** 4242``.

    Emails keep the first character and the domain; IP addresses keep their last group; anything
    else keeps at most the last 4 letters/digits (never more than half of them), separators in place.
    """
    try:
        return SAMPLE_MASKERS.get(pii_type or "", _mask_generic)(value)
    except ValueError:
        return _mask_generic(value)
