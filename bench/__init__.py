"""Benchmarks with their baselines: ``python -m bench.run`` (or ``make bench``); see bench/README.md."""
