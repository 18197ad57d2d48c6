from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantflow.config.models import Classification
from tenantflow.config.privacy import PiiColumn, PiiPolicy


def test_defaults_detect_without_auto_masking() -> None:
    policy = PiiPolicy()
    assert (policy.detect, policy.auto, policy.sample_rows, policy.min_ratio, policy.columns) == (
        True,
        "off",
        10_000,
        0.1,
        {},
    )


def test_columns_methods_and_classifications() -> None:
    policy = PiiPolicy.model_validate(
        {
            "auto": "hash",
            "columns": {
                "email": {"method": "hash"},
                "card": {"method": "partial", "classification": "highly_restricted"},
                "notes": {"method": "none", "classification": "restricted"},
            },
        }
    )
    assert policy.declared_methods() == {"email": "hash", "card": "partial", "notes": "none"}
    assert policy.column_classifications() == {
        "card": Classification.highly_restricted,
        "notes": Classification.restricted,
    }


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"auto": "encrypt"}, "auto"),
        ({"columns": {"email": {"method": "md5"}}}, "columns.email.method"),
        ({"columns": {"email": {"method": "hash", "classification": "secret"}}}, "classification"),
        ({"min_ratio": 0}, "min_ratio"),
        ({"sample_rows": 0}, "sample_rows"),
        ({"mask": "hash"}, "mask"),  # extra fields are refused
        ({"auto": "hash", "detect": False}, "set `detect: true` or `auto: off`"),
    ],
)
def test_invalid_policies_are_refused_with_the_field(data: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle.replace(".", r"\.")):
        PiiPolicy.model_validate(data)


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        PiiColumn(method="hash").method = "drop"  # type: ignore[misc]
