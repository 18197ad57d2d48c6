from __future__ import annotations

import re

import pytest

from tenantflow.pii import detectors as registry
from tenantflow.pii.detectors import Detector, classify_value, find_in_text, iban_valid, luhn_valid, ssn_valid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane.doe+news@example.co.uk", "email"),
        ("  padded@example.com  ", "email"),
        ("+14155552671", "phone"),
        ("+44 20 7946 0958", "phone"),
        ("(415) 555-2671", "phone"),
        ("415.555.2671", "phone"),
        ("06 12 34 56 78", "phone"),
        ("4242 4242 4242 4242", "credit_card"),
        ("4111-1111-1111-1111", "credit_card"),
        ("378282246310005", "credit_card"),
        ("DE89 3704 0044 0532 0130 00", "iban"),
        ("GB82WEST12345698765432", "iban"),
        ("078-05-1120", "us_ssn"),
        ("172.16.254.1", "ipv4"),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ipv6"),
        ("::ffff:192.0.2.128", "ipv6"),
    ],
)
def test_positive_values(value: str, expected: str) -> None:
    assert classify_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",  # plain integer: not a phone
        "2024-01-15",  # date
        "15.01.2024",
        "01/15/2024",
        "ORD-2024-000123",  # order number
        "3.11.4",  # version
        "4242 4242 4242 4241",  # Luhn fails
        "1234567812345678",  # Luhn passes, but no card-network prefix
        "4242 4242-4242 4242",  # mixed separators
        "DE88 3704 0044 0532 0130 00",  # mod-97 fails
        "000-12-3456",  # SSN area 000
        "666-12-3456",  # SSN area 666
        "912-12-3456",  # SSN area 9xx
        "123-00-4567",  # SSN group 00
        "123-45-0000",  # SSN serial 0000
        "256.1.1.1",  # octet > 255
        "00:1A:2B:3C:4D:5E",  # MAC address
        "10:30:00",  # time
        "user@localhost",  # no TLD
    ],
)
def test_negative_values(value: str) -> None:
    assert classify_value(value) is None


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert luhn_valid("4242-4242-4242-4242")
    assert not luhn_valid("4242424242424243")
    assert not luhn_valid("424242424242")  # 12 digits: too short for a card


def test_iban_mod97() -> None:
    assert iban_valid("DE89370400440532013000")
    assert iban_valid("fr14 2004 1010 0505 0001 3m02 606")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("DE8937040044")  # too short


def test_ssn_invalid_areas_groups_serials() -> None:
    assert ssn_valid("899-99-9999")
    for value in ("000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000"):
        assert not ssn_valid(value), value


def test_contains_semantics_finds_embedded_pii_but_not_glued_digits() -> None:
    assert find_in_text("call me on +44 20 7946 0958 tomorrow") == ("phone", "+44 20 7946 0958")
    assert find_in_text("refund to DE89 3704 0044 0532 0130 00, thanks") == ("iban", "DE89 3704 0044 0532 0130 00")
    assert find_in_text("mail: jane@example.org.") == ("email", "jane@example.org")
    assert find_in_text("order ORD-2024-000123 shipped 2024-01-15, v1.2.3") is None
    assert find_in_text("ref X4242424242424242Y") is None  # glued to letters: an id, not a card
    assert find_in_text("scores 12 34 56 78 90 11 22 today") is None  # a run of numbers, not a phone
    assert find_in_text("built with 1.1.1.1.1") is None  # a version, not an IP address
    assert find_in_text("host 10.0.0.1. Retry") == ("ipv4", "10.0.0.1")


def test_whole_value_semantics_ignore_embedded_pii() -> None:
    assert classify_value("contact jane@example.org") is None


def test_registry_is_extensible_and_refuses_silent_overwrite() -> None:
    employee = Detector("employee_id", re.compile(r"EMP-\d{6}"))
    registry.register(employee)
    try:
        assert registry.detectors()[-1] is employee
        assert classify_value("EMP-004211") == "employee_id"
        with pytest.raises(ValueError, match="already registered"):
            registry.register(Detector("employee_id", re.compile("x")))
    finally:
        registry.unregister("employee_id")
    assert classify_value("EMP-004211") is None
