"""Timing helpers behind the benchmark command."""
