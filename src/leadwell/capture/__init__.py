"""Capture: lead magnets, forms, landing pages, the hosted reader and the tracking endpoints."""
