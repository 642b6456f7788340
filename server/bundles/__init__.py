"""Code bundles: safe validation, storage, download by workers."""
