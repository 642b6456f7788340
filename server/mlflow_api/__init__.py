"""The part of MLflow's REST tracking API an unmodified `mlflow` client script needs, over
Runyard's projects (MLflow experiments) and external runs (MLflow runs)."""
