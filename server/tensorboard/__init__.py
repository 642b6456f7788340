"""A run's TensorBoard event files: uploaded by its worker when the run ends, downloaded by
`runyard tensorboard`."""
