"""PII detectors: a name, a compiled regex and an optional validator, kept in an extensible registry.

Two deliberate match semantics:

* **whole value** (:func:`classify_value`, :meth:`Detector.matches`) — the stripped value *is* one PII
  item (a column of emails). This is what decides how a column gets masked as a whole.
* **contains** (:func:`find_in_text`, :meth:`Detector.search`) — free text that *embeds* PII
  ("call me on +44 20 7946 0958"). Candidates must stand alone (no letter or digit touching them, no
  separator-then-digit continuing them) and pass the validator, so an order number, a date or a run
  of numbers inside a sentence does not count.

Registry order is priority order: a value matching several detectors is classified by the first
(most specific, validated) one; phone comes last because its shape is the loosest.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Validator = Callable[[str], bool]


@dataclass(frozen=True)
class Detector:
    """One kind of PII: ``pattern`` finds candidates, ``validator`` (if any) confirms them."""

    name: str
    pattern: re.Pattern[str]
    validator: Validator | None = None

    def _valid(self, candidate: str) -> bool:
        return self.validator is None or self.validator(candidate)

    def matches(self, value: str) -> bool:
        """Whole-value semantics: the stripped value is exactly one PII item."""
        text = value.strip()
        return bool(self.pattern.fullmatch(text)) and self._valid(text)

    def search(self, text: str) -> Iterator[str]:
        """Contains semantics: validated PII items standing alone inside free text."""
        for match in self.pattern.finditer(text):
            start, end = match.span()
            if _glued(text, start, end):
                continue
            if self._valid(match.group()):
                yield match.group()


_SEPARATORS = " .:/-"


def _glued(text: str, start: int, end: int) -> bool:
    """A candidate is part of something longer: a letter/digit touches it, or a separator then a digit
    (so "12 34 56 78 90 11" or "1.1.1.1.1" are not read as a phone or an IP address)."""
    before, after = text[max(start - 2, 0) : start], text[end : end + 2]
    touching = before[-1:].isalnum() or after[:1].isalnum()
    continued_before = len(before) == 2 and before[1] in _SEPARATORS and before[0].isdigit()
    continued_after = len(after) == 2 and after[0] in _SEPARATORS and after[1].isdigit()
    return touching or continued_before or continued_after


_REGISTRY: dict[str, Detector] = {}


def register(detector: Detector, *, replace: bool = False) -> Detector:
    """Add a detector (appended last, i.e. lowest priority). Re-registering a name needs ``replace``."""
    if detector.name in _REGISTRY and not replace:
        raise ValueError(f"a PII detector named {detector.name!r} is already registered (pass replace=True)")
    _REGISTRY[detector.name] = detector
    return detector


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def detectors() -> tuple[Detector, ...]:
    """Registered detectors in priority order."""
    return tuple(_REGISTRY.values())


def get(name: str) -> Detector:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown PII type {name!r}; registered: {', '.join(_REGISTRY)}") from None


def classify_value(value: str) -> str | None:
    """The PII type a whole value is, or None."""
    for detector in _REGISTRY.values():
        if detector.matches(value):
            return detector.name
    return None


# Detection looks at the first this-many characters of a value: enough for any free-text field,
# and it bounds the cost of a multi-megabyte blob in a sampled row.
MAX_SCAN_CHARS = 10_000


def find_in_text(text: str) -> tuple[str, str] | None:
    """(pii type, matched fragment) of the first PII item embedded in free text, or None."""
    text = text[:MAX_SCAN_CHARS]
    for detector in _REGISTRY.values():
        for fragment in detector.search(text):
            return detector.name, fragment
    return None


# --------------------------------------------------------------------------- validators


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def luhn_valid(number: str) -> bool:
    digits = _digits(number)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_valid(value: str) -> bool:
    # one separator style per number: "4242 4242-4242 4242" is more likely two ids glued together
    # and a card-network prefix (2-6), so a Luhn-passing order number starting 1/7/8/9/0 is not a card
    digits = _digits(value)
    return (
        len({ch for ch in value if ch in " -"}) <= 1
        and digits[:1] in ("2", "3", "4", "5", "6")
        and len(set(digits)) > 1
        and luhn_valid(digits)
    )


def iban_valid(value: str) -> bool:
    """ISO 13616 mod-97 check (country code + 2 check digits + BBAN, spaces allowed)."""
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def ssn_valid(value: str) -> bool:
    area, group, serial = value.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _ip_valid(version: int) -> Validator:
    def check(value: str) -> bool:
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False

    return check


_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")


def _phone_valid(value: str) -> bool:
    if _SSN_SHAPE.fullmatch(value):  # an SSN-shaped id (valid ones are claimed by us_ssn first)
        return False
    digits = _digits(value)
    if value.startswith("+"):
        return 8 <= len(digits) <= 15
    return 9 <= len(digits) <= 12


# --------------------------------------------------------------------------- built-in detectors

EMAIL = Detector(
    "email",
    # the lookbehind starts a candidate only where a run of local-part characters starts, which keeps
    # a search linear on long texts (without it, a 20k-character digit run costs ~0.4 s)
    re.compile(
        r"(?<![A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    ),
)
CREDIT_CARD = Detector("credit_card", re.compile(r"\d(?:[ -]?\d){12,18}"), _card_valid)
IBAN = Detector(
    "iban",
    re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?"),
    iban_valid,
)
US_SSN = Detector("us_ssn", re.compile(r"\d{3}-\d{2}-\d{4}"), ssn_valid)
IPV4 = Detector("ipv4", re.compile(r"(?:\d{1,3}\.){3}\d{1,3}"), _ip_valid(4))
IPV6 = Detector(
    "ipv6",
    re.compile(r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?:%\w+)?"),
    _ip_valid(6),
)
# International: "+" then 8-15 digits in groups. National: 2-4 digit groups joined by ONE consistent
# separator (space, dash or dot), at least 3 groups; "(555) 123-4567"; or a trunk-prefixed "030 1234567".
# Dates have 8 digits (below the 9-digit floor), plain integers have no separator, and SSNs are claimed
# earlier by priority.
PHONE = Detector(
    "phone",
    re.compile(
        r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}"
        r"|\(\d{2,5}\) ?\d{2,4}(?:[ .-]\d{2,4}){1,3}"
        r"|\d{2,5}(?P<sep>[ .-])\d{2,4}(?:(?P=sep)\d{2,4}){1,3}"
        r"|0\d{1,4}[ /-]\d{5,8}"
    ),
    _phone_valid,
)

for _detector in (EMAIL, CREDIT_CARD, IBAN, US_SSN, IPV6, IPV4, PHONE):
    register(_detector)
