"""A dedicated tenant's Celery workers: how many, how big, where they run, which AWS identity.

Rendered into the Helm chart's `workers.celery.sets` by `tenantflow helm-values`
(`tenantflow.deploy.helm_values`); only tenants with `quotas.worker_queue` get a worker set.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from tenantflow.config.base import Model

K8S_CPU = r"^([1-9][0-9]{0,4}m|[0-9]{1,3}(\.[0-9]{1,3})?)$"
K8S_MEMORY = r"^[1-9][0-9]{0,5}(Mi|Gi)$"
IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"
# Kubernetes label keys (optional DNS-subdomain prefix + name) and values.
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_MEMORY_FACTOR = {"Mi": 1, "Gi": 1024}


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def memory_mebibytes(quantity: str) -> int:
    return int(quantity[:-2]) * _MEMORY_FACTOR[quantity[-2:]]


class ComputeResources(Model):
    cpu: str = Field(pattern=K8S_CPU, description="Kubernetes CPU quantity: millicores ('500m') or cores ('2').")
    memory: str = Field(pattern=K8S_MEMORY, description="Kubernetes memory quantity in Mi or Gi ('1536Mi', '4Gi').")


class WorkerResources(Model):
    requests: ComputeResources = Field(
        default=ComputeResources(cpu="500m", memory="1Gi"),
        description="What the scheduler reserves for each worker pod (default 500m CPU, 1Gi).",
    )
    limits: ComputeResources = Field(
        default=ComputeResources(cpu="2", memory="4Gi"),
        description="The most each worker pod may use (default 2 CPU, 4Gi); never below `requests`.",
    )

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> WorkerResources:
        if cpu_millis(self.limits.cpu) < cpu_millis(self.requests.cpu):
            raise ValueError(f"limits.cpu {self.limits.cpu!r} is below requests.cpu {self.requests.cpu!r}")
        if memory_mebibytes(self.limits.memory) < memory_mebibytes(self.requests.memory):
            raise ValueError(
                f"limits.memory {self.limits.memory!r} is below requests.memory {self.requests.memory!r}"
            )
        return self


class WorkerSettings(Model):
    """The tenant's own Celery worker set (tenants with `quotas.worker_queue`, i.e. tier 'dedicated')."""

    replicas: int = Field(default=1, ge=1, le=20, description="Worker pods consuming the tenant's queue (1-20).")
    resources: WorkerResources = Field(
        default=WorkerResources(), description="CPU and memory requests/limits of each worker pod."
    )
    node_selector: dict[str, str] | None = Field(
        default=None,
        description="Node labels the worker pods must run on. Default: {'tenantflow.io/tenant': <tenant id>} "
        "(label the tenant's node group so); {} runs them wherever the shared workers run.",
    )
    role_arn: str | None = Field(
        default=None,
        pattern=IAM_ROLE_ARN,
        description="IAM role of the tenant's workers (IRSA annotation of their own ServiceAccount), scoped to "
        "the tenant's secrets and buckets. Default: the shared workers' role.",
    )

    @field_validator("node_selector")
    @classmethod
    def _labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, label in (value or {}).items():
            if not _LABEL_KEY.match(key):
                raise ValueError(
                    f"node_selector key {key!r} is not a Kubernetes label key (e.g. 'tenantflow.io/tenant')"
                )
            if not _LABEL_VALUE.match(label):
                raise ValueError(
                    f"node_selector value {label!r} of {key!r} is not a Kubernetes label value: at most 63 "
                    "characters of letters, digits, '-', '_', '.', starting and ending with a letter or digit"
                )
        return value
