"""The capability probe and the worker's start-up policy: refuse to start where runs cannot be
sandboxed (naming what is missing and the escape), warn loudly when isolation is off."""

import logging
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from tests.worker.sandbox.conftest import REPO, needs_sandbox, worker_settings
from worker.sandbox import IsolationUnavailable, enforce_isolation_policy, probe
from worker.sandbox.capabilities import effective_capabilities
from worker.settings import WorkerSettings


@needs_sandbox
def test_this_machine_can_sandbox_and_says_with_what(tmp_path):
    capabilities = probe(worker_settings(tmp_path))
    assert capabilities.can_sandbox, capabilities.missing
    described = capabilities.describe()
    assert "bwrap" in described and "namespaces" in described and "cgroup" in described


def test_a_missing_bubblewrap_is_named_with_the_fix_and_the_escape(tmp_path):
    settings = worker_settings(tmp_path, sandbox_bwrap="/nonexistent/bwrap")
    with pytest.raises(IsolationUnavailable) as refused:
        enforce_isolation_policy(settings)
    message = str(refused.value)
    assert "bubblewrap" in message and "RUNYARD_WORKER_ISOLATION=none" in message


def test_isolation_none_starts_with_a_loud_warning(tmp_path, caplog):
    settings = worker_settings(tmp_path, isolation="none", sandbox_bwrap="/nonexistent/bwrap")
    with caplog.at_level(logging.WARNING):
        assert enforce_isolation_policy(settings) is None
    assert "NOT isolated" in caplog.text


def test_the_worker_process_refuses_to_start_without_a_sandbox(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "RUNYARD_WORKER_SANDBOX_BWRAP": "/nonexistent/bwrap",
        "RUNYARD_WORKER_WORK_DIR": str(tmp_path / "work"),
        "RUNYARD_WORKER_SPOOL_DIR": str(tmp_path / "spool"),
        "RUNYARD_WORKER_REDIS_URL": "redis://127.0.0.1:1/0",  # never reached
    }
    result = subprocess.run(
        [sys.executable, "-m", "worker"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot sandbox runs" in result.stderr and "ISOLATION=none" in result.stderr


def test_effective_capabilities_are_read_from_proc_status():
    assert effective_capabilities("Name:\tx\nCapEff:\t0000000000200000\n") == 1 << 21


@pytest.mark.parametrize("uids", ["0-999", "200999-200000", "lots", "500-2000"])
def test_a_bad_uid_range_is_refused(uids):
    with pytest.raises(ValidationError, match="sandbox_uids"):
        WorkerSettings(sandbox_uids=uids)


def test_extra_paths_are_read_like_path(monkeypatch):
    monkeypatch.setenv("RUNYARD_WORKER_SANDBOX_EXTRA_PATHS", "/opt/code:/srv/models")
    assert [str(p) for p in WorkerSettings().sandbox_extra_paths] == ["/opt/code", "/srv/models"]
