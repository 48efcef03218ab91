"""When assets materialize by themselves (declarative automation)."""

from dagster import AutomationCondition

# Gold follows silver's changes, but never builds on silver whose blocking checks failed.
# (Silver follows bronze with plain eager(): bronze has no blocking checks.)
FOLLOW_UPSTREAM = (
    AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow upstream, checks passed")
