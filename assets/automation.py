"""When assets materialize by themselves (declarative automation)."""

from dagster import AutomationCondition

# Follow upstream changes, but never build on data whose blocking checks failed.
FOLLOW_UPSTREAM = (
    AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow upstream, checks passed")
