"""Predictive qualification: models of who buys, ideal-client discovery and backtests."""
