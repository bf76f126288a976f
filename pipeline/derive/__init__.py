"""Derive and store: run ``derivation`` over stored trajectories (``postprocess``: grades, steps, timelines,
rules flags; ``annotate``: annotators, embeddings, failure-mode clusters) and score annotators on
ProcessBench (``processbench``)."""
