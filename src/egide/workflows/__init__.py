"""Workflows: what the machine proposes and a human decides."""
