"""Generation: sampling trajectories from a model. The run (``runner``) over a backend (``backends``), its
YAML configs (``config``) and the Ray executor (``ray_exec``)."""
