"""Experiments ready to submit to Runyard (or to run locally with `python -m examples.<name>`)."""
