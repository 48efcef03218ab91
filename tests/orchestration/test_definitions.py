"""The code location loads, and every asset says what one row of it is."""

from dagster import AssetKey

from orchestration.definitions import defs


def test_definitions_load_with_every_bronze_table():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {
        "bronze/ultrachat",
        "bronze/ultrachat_200k",
        "bronze/ultrafeedback",
        "bronze/chatbot_arena_conversations",
        "bronze/mt_bench_human_judgments",
        "bronze/quarantine",
    } <= keys


def test_asset_keys_are_layer_and_table_and_groups_are_layers():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        layer, _table = key.path
        assert graph.get(key).group_name == layer


def test_every_asset_states_its_grain_and_licence_handling():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        description = graph.get(key).description or ""
        assert "Grain" in description, key
        assert "icence" in description or "license" in description, key


def test_side_tables_are_downstream_of_the_assets_that_write_them():
    """Lineage shows who writes each side table (it has no materialization of its own)."""
    graph = defs.resolve_asset_graph()

    def writers(key: str) -> set[str]:
        (node,) = [graph.get(k) for k in graph.get_all_asset_keys() if k.to_user_string() == key]
        return {parent.to_user_string() for parent in node.parent_keys}

    bronze = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "bronze"}
    assert writers("bronze/quarantine") == bronze - {"bronze/quarantine"}
    for side_table in ("silver/pii_audit", "silver/quarantine"):
        assert writers(side_table) == {"silver/dialogues", "silver/comparisons"}, side_table
    assert {"silver/conversations", "gold/sft_by", "gold/prefs_by"} <= writers("silver/pii_review")


def test_the_text_cache_fans_out_the_datasets_declaring_buckets_before_their_slices():
    """A dataset declaring `buckets` (UltraChat) has its text-engine work done by
    silver/text_cache, one step per bucket, which its silver slice then follows."""
    graph = defs.resolve_asset_graph()
    cache = graph.get(AssetKey(["silver", "text_cache"]))
    assert cache.partitions_def.get_partition_keys() == ["ultrachat"]
    assert {k.to_user_string() for k in cache.parent_keys} == {"bronze/ultrachat"}
    assert AssetKey(["silver", "dialogues"]) in cache.child_keys
    fan_out = defs.resolve_assets_def(cache.key).node_def.node_dict
    assert set(fan_out) == {"text_cache_buckets", "text_cache_bucket", "text_cache_filled"}
    assert fan_out["text_cache_buckets"].definition.output_defs[0].is_dynamic
    # No value passes between the steps, so step pods need no shared IO manager.
    outputs = [out for node in fan_out.values() for out in node.definition.output_defs]
    assert all(out.dagster_type.is_nothing for out in outputs)
