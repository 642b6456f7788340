"""The worker registry: heartbeats in, a list for users out."""
