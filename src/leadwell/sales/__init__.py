"""Deals and pipeline (the call queue and tasks come later)."""
