"""`TestTubeLogger`: importable where 1.0 code imports it, refused when built.

Lightning 1.0 wrapped the third-party test-tube package; trainer_core does not integrate it
and says what to use instead (TensorBoardLogger writes the same event files).
"""

from typing import Any

from trainer_core.exceptions import MisconfigurationException


class TestTubeLogger:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise MisconfigurationException(
            "TestTubeLogger (the test-tube package) is not integrated in trainer_core; use "
            "trainer_core.loggers.TensorBoardLogger(save_dir, name, version) instead."
        )
