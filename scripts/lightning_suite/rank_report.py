"""A pytest plugin for the suite's runs: a relaunched ddp rank writes no JUnit report.

Lightning 1.0.8's `ddp` (and trainer_core's) starts each extra rank by re-executing the
command line, which under the harness is the whole pytest command, `--junitxml` included: the
rank's report would replace the launching run's (a full-tree run once reported 1,403 passes
where pytest's own summary said 883). A process started with LOCAL_RANK already set (or 1.0.8's
PL_IN_DDP_SUBPROCESS) is such a rank; the harness starts its runs without either.
"""

import os

import pytest


def is_relaunched_rank() -> bool:
    return "LOCAL_RANK" in os.environ or os.environ.get("PL_IN_DDP_SUBPROCESS") == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Before the junitxml plugin's own pytest_configure reads the option.
    if is_relaunched_rank():
        config.option.xmlpath = None
