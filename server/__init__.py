"""Runyard's server: the FastAPI app, the only component that touches SQL and the artifact store."""
