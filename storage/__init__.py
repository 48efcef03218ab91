"""The storage layer, below the assets: the lake's Delta tables (`lake`), where raw files
come from (`lake.Sources`, `hub`), the tables' names (`keys`) and what a table was
computed by (`code_digest`). It imports neither Dagster assets nor orchestration."""
