"""Ingest: traces into the warehouse. The import session (``session``), one module per trace format
(``importers``), model manifests (``manifest``), benchmark loaders (``benchmarks``), the sharded writes a
run shares with generation (``shards``) and the demo warehouse (``demo``)."""
