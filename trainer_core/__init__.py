"""trainer_core: an embedded trainer whose API is PyTorch Lightning 1.0's. Imports torch only."""
