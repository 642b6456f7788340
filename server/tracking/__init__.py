"""Runs logged from outside the cluster: runyard.init, the trainer logger, MLflow clients."""
