"""Two runs of one pipeline committing at once, as two real OS processes on a PostgreSQL-backed catalog.

Each round starts both processes at a barrier right before the load commits, so both plan on the
same table state and race for the commit. Whatever the interleaving, no source file or source row
may end up in the table twice, and nothing may be lost.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import uuid

import pyarrow as pa
import pytest

from tenantflow.config.models import CatalogSettings, Target

ROUNDS = 3


@pytest.fixture
def pg_catalog_settings():
    name = f"tenantflow_race_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "root", name], check=True)
    yield name
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "root", "--if-exists", "--force", name], check=False)


def _catalog(database: str, home: str):
    from tenantflow.catalog.catalogs import open_catalog

    settings = CatalogSettings(type="sql", properties={
        "uri": f"postgresql+psycopg2://root@127.0.0.1:5432/{database}", "warehouse": "file://{home}/w"})
    return open_catalog("race", settings, home)


def _sales(ids: list[int]) -> pa.Table:
    return pa.table({"sale_id": pa.array(ids, pa.int64()), "amount": pa.array([float(i) for i in ids])})


def _load(database, home, target_args, ids, planned_args, barrier, results):  # runs in a child process
    from tenantflow.loading.commit import LoadConflict, PlannedLoad
    from tenantflow.loading.iceberg_writer import write_batch

    catalog = _catalog(database, home)
    barrier.wait(timeout=60)
    try:
        result = write_batch(catalog, "retail.sales", _sales(ids), Target(**target_args), PlannedLoad(**planned_args))
        results.put(("skipped" if result.skipped else "loaded", result.rows))
    except LoadConflict as exc:
        results.put(("refused", str(exc)))


def race(database, home, target_args, batches):
    """Run the given (ids, planned) loads at once, one process each; their outcomes."""
    _catalog(database, home)  # the catalog's own tables exist before two processes open it
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(batches)), context.Queue()
    processes = [context.Process(target=_load, args=(database, home, target_args, ids, planned, barrier, results))
                 for ids, planned in batches]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
        assert process.exitcode == 0, f"a loading process died (exit {process.exitcode})"
    return sorted(results.get(timeout=5) for _ in processes)


def table_ids(database, home) -> list[int]:
    return sorted(_catalog(database, home).load_table("retail.sales").scan().to_arrow()["sale_id"].to_pylist())


def test_two_runs_appending_the_same_new_file_load_it_once(pg_catalog_settings, tmp_path):
    target = {"table": "sales", "mode": "append"}
    expected: list[int] = []
    for round_ in range(ROUNDS):
        ids = list(range(round_ * 1000, round_ * 1000 + 1000))
        planned = {"pipeline_id": "sales", "source_files": (f"sales_{round_}.csv",), "tracks_files": True}
        outcomes = race(pg_catalog_settings, str(tmp_path), target, [
            (ids, {**planned, "run_id": f"scheduled-{round_}"}), (ids, {**planned, "run_id": f"manual-{round_}"})])
        expected += ids
        assert outcomes == [("loaded", 1000), ("skipped", 0)], outcomes
        assert table_ids(pg_catalog_settings, str(tmp_path)) == expected, f"round {round_}: duplicates or loss"


def test_the_same_run_id_committed_twice_at_once_loads_once(pg_catalog_settings, tmp_path):
    target = {"table": "sales", "mode": "append"}
    planned = {"run_id": "scheduled-1", "pipeline_id": "sales"}
    outcomes = race(pg_catalog_settings, str(tmp_path), target, [(list(range(500)), planned)] * 2)
    assert outcomes == [("loaded", 500), ("skipped", 0)]
    assert table_ids(pg_catalog_settings, str(tmp_path)) == list(range(500))


@pytest.mark.parametrize("mode", ["append", "merge"])
def test_two_incremental_runs_planned_on_one_watermark_never_load_a_row_twice(pg_catalog_settings, tmp_path, mode):
    """Both read rows after the same watermark; the later commit keeps only rows after the new one."""
    target = {"table": "sales", "mode": mode, **({"merge_keys": ("sale_id",)} if mode == "merge" else {})}
    incremental = {"pipeline_id": "sales", "checks_watermark": True, "filters_moved_watermark": True,
                   "cursor": "sale_id"}
    watermark = None
    for round_ in range(ROUNDS):
        base = round_ * 100
        first, second = list(range(base, base + 60)), list(range(base, base + 100))  # the second read later
        outcomes = race(pg_catalog_settings, str(tmp_path), target, [
            (first, {**incremental, "run_id": f"a-{round_}", "watermark": str(base + 59),
                     "planned_watermark": watermark}),
            (second, {**incremental, "run_id": f"b-{round_}", "watermark": str(base + 99),
                      "planned_watermark": watermark}),
        ])
        assert [o[0] for o in outcomes] == ["loaded", "loaded"], outcomes
        ids = table_ids(pg_catalog_settings, str(tmp_path))
        assert ids == list(range(base + 100)), f"round {round_}: {len(ids) - len(set(ids))} duplicated keys"
        watermark = str(base + 99)
        from tenantflow.loading import state

        table = _catalog(pg_catalog_settings, str(tmp_path)).load_table("retail.sales")
        assert state.last_watermark(table) == watermark


def test_overlapping_file_sets_refuse_the_later_commit(pg_catalog_settings, tmp_path):
    target = {"table": "sales", "mode": "append"}
    outcomes = race(pg_catalog_settings, str(tmp_path), target, [
        (list(range(100)), {"run_id": "a", "pipeline_id": "sales", "source_files": ("x.csv",), "tracks_files": True}),
        (list(range(200)), {"run_id": "b", "pipeline_id": "sales", "source_files": ("x.csv", "y.csv"),
                            "tracks_files": True}),
    ])
    ids = table_ids(pg_catalog_settings, str(tmp_path))
    assert len(ids) == len(set(ids)), "no key twice"
    kinds = sorted(o[0] for o in outcomes)
    # whoever wins, the other one cannot commit: the smaller batch is skipped or the larger one refused
    assert kinds in (["loaded", "refused"], ["loaded", "skipped"]), outcomes
    assert ids in (list(range(100)), list(range(200)))


def test_two_overwrite_runs_at_once_leave_exactly_one_batch(pg_catalog_settings, tmp_path):
    target = {"table": "sales", "mode": "overwrite"}
    first, second = list(range(300)), list(range(1000, 1250))
    outcomes = race(pg_catalog_settings, str(tmp_path), target, [
        (first, {"run_id": "a", "pipeline_id": "sales", "source_files": ("all.csv",)}),
        (second, {"run_id": "b", "pipeline_id": "sales", "source_files": ("all.csv",)}),
    ])
    assert outcomes == [("loaded", 250), ("loaded", 300)]
    assert table_ids(pg_catalog_settings, str(tmp_path)) in (first, second), "one whole batch, never both"
