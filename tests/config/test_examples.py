"""The example tenants under tenant_configs/ load, and the models built from them are immutable and strict."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from tenantflow.config import PipelineConfig, PlatformConfig, TenantConfig, load_platform, load_tenant
from tenantflow.config.models import CDCSource, FilesSource, Quotas, SqlSource, Target
from tenantflow.config.queues import RabbitMQSource

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "tenant_configs"
EXAMPLE_TENANTS = sorted(
    p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
)
PIPELINE_FILES = sorted(CONFIG_DIR.glob("*/pipelines/*.yaml"))


def test_the_three_example_tenants_are_present() -> None:
    assert EXAMPLE_TENANTS == ["finance", "healthcare", "retail"], (
        f"expected the example tenants finance, healthcare, retail in {CONFIG_DIR}, found {EXAMPLE_TENANTS}"
    )
    assert len(PIPELINE_FILES) == 11, f"expected 11 example pipeline files, found {PIPELINE_FILES}"


@pytest.mark.parametrize("tenant", EXAMPLE_TENANTS, ids=EXAMPLE_TENANTS)
def test_example_tenant_loads(tenant: str) -> None:
    bundle = load_tenant(CONFIG_DIR, tenant)  # raises ConfigErrors listing every problem

    assert isinstance(bundle.tenant, TenantConfig)
    assert bundle.tenant.id == tenant, (
        f"tenant id {bundle.tenant.id!r} should come from its folder {tenant!r}"
    )
    assert bundle.folder == CONFIG_DIR / tenant
    files = sorted(p.stem for p in (CONFIG_DIR / tenant / "pipelines").glob("*.yaml"))
    assert sorted(p.id for p in bundle.pipelines) == files, (
        f"tenant {tenant!r}: every pipelines/*.yaml should yield exactly one pipeline"
    )


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=[str(p.relative_to(CONFIG_DIR)) for p in PIPELINE_FILES])
def test_example_pipeline_file_yields_a_pipeline_config(path: Path) -> None:
    tenant = path.parent.parent.name
    bundle = load_tenant(CONFIG_DIR, tenant, only_pipeline=path.stem)

    assert len(bundle.pipelines) == 1, f"{path}: expected one pipeline, got {bundle.pipelines}"
    pipeline = bundle.pipeline(path.stem)
    assert isinstance(pipeline, PipelineConfig), f"{path} did not yield a PipelineConfig"
    assert pipeline.id == path.stem, f"{path}: pipeline id should be the file name, got {pipeline.id!r}"
    assert isinstance(pipeline.source, SqlSource | FilesSource | CDCSource | RabbitMQSource)
    assert pipeline.source.kind in ("sql", "files", "cdc", "queue")


@pytest.fixture(scope="module")
def finance():
    return load_tenant(CONFIG_DIR, "finance")


FROZEN_CASES = [
    ("tenant", "display_name", "Hacked"),
    ("tenant.quotas", "pool_slots", 999),
    ("tenant.storage", "landing", "landing/retail"),
    ("pipeline", "enabled", False),
    ("pipeline.source", "connection_id", "retail__erp"),
    ("pipeline.target", "mode", "append"),
]


@pytest.mark.parametrize(
    ("what", "attribute", "value"), FROZEN_CASES, ids=[f"{w}.{a}" for w, a, _ in FROZEN_CASES]
)
def test_models_are_frozen(finance, what: str, attribute: str, value: object) -> None:
    objects = {
        "tenant": finance.tenant,
        "tenant.quotas": finance.tenant.quotas,
        "tenant.storage": finance.tenant.storage,
        "pipeline": finance.pipeline("orders"),
        "pipeline.source": finance.pipeline("orders").source,
        "pipeline.target": finance.pipeline("orders").target,
    }
    model = objects[what]
    before = getattr(model, attribute)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(model, attribute, value)
    assert getattr(model, attribute) == before, f"{what}.{attribute} changed although the model is frozen"


def test_lists_from_yaml_become_tuples(finance) -> None:
    """Sequences are tuples, so a loaded config cannot be changed through its lists either."""
    orders = finance.pipeline("orders")
    assert isinstance(orders.tags, tuple), f"tags should be a tuple, got {type(orders.tags)}"
    assert isinstance(orders.quality, tuple)
    assert isinstance(orders.target.merge_keys, tuple)
    assert isinstance(finance.tenant.owners, tuple)
    assert isinstance(finance.tenant.access.admins, tuple)


def _dumps(finance) -> dict[str, tuple[type[BaseModel], dict]]:
    orders = finance.pipeline("orders")
    return {
        "tenant": (TenantConfig, finance.tenant.model_dump(mode="json")),
        "pipeline": (PipelineConfig, orders.model_dump(mode="json")),
        "quotas": (Quotas, finance.tenant.quotas.model_dump(mode="json")),
        "sql_source": (SqlSource, orders.source.model_dump(mode="json")),
        "target": (Target, orders.target.model_dump(mode="json")),
        "platform": (PlatformConfig, load_platform(CONFIG_DIR).config.model_dump(mode="json")),
    }


@pytest.mark.parametrize("kind", ["tenant", "pipeline", "quotas", "sql_source", "target", "platform"])
def test_models_forbid_unknown_fields(finance, kind: str) -> None:
    model, data = _dumps(finance)[kind]
    model.model_validate(data)  # the dump itself is valid: only the extra field below is wrong

    with pytest.raises(ValidationError) as exc:
        model.model_validate({**data, "colour": "blue"})
    errors = exc.value.errors()
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", ("colour",))], (
        f"{model.__name__} should reject the unknown field 'colour', got {errors}"
    )
