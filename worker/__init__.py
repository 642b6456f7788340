"""Runyard's Celery worker: runs experiments with trainer_core; reaches the server only through
Redis and the HTTP API."""
