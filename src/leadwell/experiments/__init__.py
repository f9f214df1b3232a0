"""Experiments: variants, assignment, statistics, allocation."""
