from __future__ import annotations

import json

import pytest

from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.pii.secrets import PiiSecretError, tenant_pii_secret

SECRET = "f1nance-pii-secret-7c9e6679-7425-40de"


@pytest.fixture
def finance_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__PII", json.dumps({"conn_type": "generic", "password": SECRET}))
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__PII", json.dumps({"conn_type": "generic", "password": "r" * 32}))
    return SECRET


def test_reads_the_tenants_own_connection_and_masks_it_in_logs(finance_secret: str) -> None:
    from airflow.sdk.log import redact

    assert tenant_pii_secret("finance") == finance_secret.encode()
    assert finance_secret not in str(redact(f"key is {finance_secret}"))


def test_refuses_another_tenants_connection(finance_secret: str) -> None:
    with pytest.raises(TenantIsolationError, match="'finance' may not use connection 'retail__pii'"):
        tenant_pii_secret("finance", "retail__pii")


def test_missing_or_weak_secret_says_how_to_create_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PiiSecretError, match=r"no PII secret connection 'hr__pii'.*airflow connections add hr__pii"):
        tenant_pii_secret("hr")
    monkeypatch.setenv("AIRFLOW_CONN_HR__PII", json.dumps({"conn_type": "generic", "password": "short"}))
    with pytest.raises(PiiSecretError, match="shorter than 16 bytes") as info:
        tenant_pii_secret("hr")
    assert "short'" not in str(info.value)
