"""The scheduler: pure placement rules (`placement`) and the single active leader loop that
applies them to the database and dispatches Celery tasks (`leader`)."""
