"""The Dagster code location: every asset, resource, job and schedule of the lake."""

from __future__ import annotations

from dagster import Definitions, ExecutorDefinition

from assets.bronze import bronze_asset, bronze_quarantine_spec
from assets.gold_prefs import prefs_assets
from assets.gold_prompts import prompts_assets
from assets.gold_sft import sft_assets
from assets.releases import release_assets
from assets.silver import silver_assets
from assets.silver_fan_out import text_cache_assets
from assets.views import view_assets
from orchestration import config
from orchestration.catalogue import load_catalogue, load_views
from orchestration.checks import lake_checks
from orchestration.jobs import bronze_jobs, release_job
from orchestration.resources import lake_resource, sources_resource
from orchestration.schedules import refresh_schedules
from orchestration.sensors import mirror_sensor
from storage.lake import Lake, Sources
from transforms.catalogue import DatasetSpec


def executor() -> ExecutorDefinition | None:
    """Dagster's default (multiprocess) unless LAKE_EXECUTOR=k8s asks for step pods."""
    if config.executor_name() == "k8s":
        from dagster_k8s import k8s_job_executor  # the `distributed` extra

        return k8s_job_executor
    return None


def build_definitions(
    lake: Lake | None = None,
    sources: Sources | None = None,
    catalogue: dict[str, DatasetSpec] | None = None,
) -> Definitions:
    """The lake's definitions; resources default to the environment's (LAKE_ROOT,
    LAKE_SOURCES), the catalogue to sources/catalogue.yaml."""
    catalogue = catalogue or load_catalogue()
    views = load_views(catalogue)
    jobs = bronze_jobs(catalogue)
    return Definitions(
        assets=[
            *(bronze_asset(spec) for spec in catalogue.values()),
            bronze_quarantine_spec(catalogue),
            *silver_assets(catalogue),
            *text_cache_assets(catalogue),
            *prefs_assets(catalogue, views),
            *sft_assets(catalogue),
            *prompts_assets(catalogue),
            *view_assets(views),
            *release_assets(catalogue, views),
        ],
        asset_checks=lake_checks(),
        jobs=[*jobs.values(), release_job],
        schedules=refresh_schedules(catalogue, jobs),
        sensors=[mirror_sensor(catalogue, jobs)],
        resources={"lake": lake or lake_resource(), "sources": sources or sources_resource()},
        executor=executor(),
    )


defs = build_definitions()
