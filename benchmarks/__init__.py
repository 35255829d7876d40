"""Benchmarks: measurements run side by side with their baselines (python -m benchmarks.NAME)."""
