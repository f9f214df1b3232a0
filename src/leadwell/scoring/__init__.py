"""Engagement scoring, lifecycle stages, nurture and re-qualification."""
