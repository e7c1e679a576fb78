"""Benchmarks that the `egide bench` commands and the `bench/` scripts run."""
