"""A sensor on the mirror directory: new or changed files start a run of exactly the
splits they belong to."""

import hashlib
import json

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from orchestration.jobs import AssetJob
from storage.lake import Sources
from transforms.catalogue import DatasetSpec


def mirror_sensor(catalogue: dict[str, DatasetSpec], jobs: dict[str, AssetJob]) -> SensorDefinition:
    @sensor(
        name="mirror_files",
        jobs=list(jobs.values()),
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Watches LAKE_SOURCES (a mirror directory) and ingests changed splits.",
    )
    def _watch(context: SensorEvaluationContext, sources: Sources) -> SensorResult | SkipReason:
        if sources.mode != "mirror":
            return SkipReason(f"LAKE_SOURCES is {sources.location!r}, not a mirror directory")
        seen = json.loads(context.cursor or "{}")
        listing, requests = {}, []
        for key, spec in catalogue.items():
            for split in spec.splits:
                files = sources.listing(spec, split)
                if not files:
                    continue
                partition = f"{key}/{split}"
                listing[partition] = hashlib.sha256(json.dumps(files).encode()).hexdigest()
                if seen.get(partition) != listing[partition]:
                    requests.append(
                        RunRequest(
                            job_name=jobs[key].name,
                            partition_key=split,
                            run_key=f"{partition}@{listing[partition][:16]}",
                        )
                    )
        cursor = json.dumps(listing, sort_keys=True)
        if not requests:
            return SensorResult(skip_reason="no new or changed files", cursor=cursor)
        return SensorResult(run_requests=requests, cursor=cursor)

    return _watch
