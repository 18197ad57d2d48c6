"""Cross-field conditions of ``rule: condition``: ``<column> <op> <column | literal>``, parsed — never eval'd.

Grammar (the whole language): a column name, one operator of ``== != > >= < <=``, and either a
second column name or a literal (a number, a quoted string, ``true``/``false``). Anything else is a
configuration error that says what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"-?\d+(?:\.\d+)?"
_STRING = r"'[^'\\]*'|\"[^\"\\]*\""
_CONDITION = re.compile(
    rf"^\s*(?P<left>{_IDENT})\s*(?P<op>==|!=|>=|<=|>|<)\s*"
    rf"(?P<right>{_NUMBER}|{_STRING}|{_IDENT})\s*$"
)
# a > b is b < a: used to express every column-column comparison as one of these
FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Condition:
    left: str
    op: str
    right_column: str | None = None
    literal: float | int | str | bool | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.left, self.right_column) if self.right_column else (self.left,)

    def __str__(self) -> str:
        right = self.right_column if self.right_column else repr(self.literal)
        return f"{self.left} {self.op} {right}"


def parse_condition(text: str) -> Condition:
    match = _CONDITION.match(text)
    if not match:
        raise ValueError(
            f"condition {text!r} is not '<column> <op> <column or literal>' with op one of "
            f"{' '.join(OPERATORS)} (e.g. 'end_date >= start_date', 'amount > 0', \"status != 'void'\")"
        )
    left, op, right = match.group("left"), match.group("op"), match.group("right")
    if right[0] in "'\"":
        return Condition(left, op, literal=right[1:-1])
    if re.fullmatch(_NUMBER, right):
        return Condition(left, op, literal=float(right) if "." in right else int(right))
    if right in ("true", "false"):
        return Condition(left, op, literal=right == "true")
    if right == left:
        raise ValueError(f"condition {text!r} compares column {left!r} with itself")
    return Condition(left, op, right_column=right)
