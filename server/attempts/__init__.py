"""Run attempts and their placements: the fencing numbers and slot holdings the scheduler
issues, kept in SQL so that Redis can be lost without anyone forgetting who runs what."""
