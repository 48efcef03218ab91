"""Daily refresh of every source: unchanged sources write nothing (bronze compares the
source fingerprint recorded in its last commit), so a quiet day makes no new versions."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from orchestration.jobs import AssetJob
from transforms.catalogue import DatasetSpec

DAILY_AT_3 = "0 3 * * *"


def refresh_schedules(
    catalogue: dict[str, DatasetSpec], jobs: dict[str, AssetJob]
) -> list[ScheduleDefinition]:
    return [refresh_schedule(spec, jobs[key]) for key, spec in catalogue.items()]


def refresh_schedule(spec: DatasetSpec, job: AssetJob) -> ScheduleDefinition:
    @schedule(
        name=f"refresh_{spec.key}",
        job=job,
        cron_schedule=DAILY_AT_3,
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Re-read every split of {spec.hub_repo} daily; unchanged files write nothing.",
    )
    def _refresh(context: ScheduleEvaluationContext) -> list[RunRequest]:
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return [
            RunRequest(partition_key=split, run_key=f"{spec.key}/{split}/{day}")
            for split in spec.splits
        ]

    return _refresh
