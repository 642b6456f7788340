"""Checkpoints and exported models: streamed upload and download, storage on disk, retention."""
