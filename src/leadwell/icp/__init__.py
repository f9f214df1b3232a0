"""Ideal client profile: criteria, grading, avatar and audience export."""
