"""Performance benchmarks (``bash scripts/bench``): printed figures, never assertions."""
