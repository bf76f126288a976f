"""Derivation: pure text analysis of one trajectory, between ``warehouse.records`` and ``analysis/``.

Grading (``grade``), step spans (``steps``), the answer each step asserts (``answer_timeline``, over the
arithmetic of ``arith``), step-error annotators (``annotators``), embeddings and clustering of what a
trajectory did (``embed``), and the worker pool they run in (``pool``, ``poolwarm``). Nothing here reads
or writes the warehouse: ``pipeline.derive`` runs these over stored trajectories and stores the results.
"""
