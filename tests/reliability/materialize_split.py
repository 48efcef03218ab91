"""Run one bronze split in its own process (the crash and concurrency tests start this).

python -m tests.reliability.materialize_split <mirror> <lake_root> <dataset> <split>
"""

import sys

from dagster import DagsterInstance, materialize

from assets.bronze import bronze_asset, bronze_quarantine_spec
from orchestration.catalogue import load_catalogue
from orchestration.config import SAMPLES_DIR
from storage.lake import Lake, Sources


def main(mirror: str, root: str, dataset: str, split: str) -> int:
    spec = load_catalogue()[dataset]
    asset = bronze_asset(spec)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [asset, bronze_quarantine_spec({dataset: spec})],
            selection=[asset.key],
            partition_key=split,
            resources={
                "lake": Lake(root=root),
                "sources": Sources(location=mirror, samples_dir=str(SAMPLES_DIR)),
            },
            instance=instance,
            run_config={"ops": {asset.node_def.name: {"config": {"force": True}}}},
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
