"""What a new user starts from: a fresh clone of the committed repository in a temporary
directory, a clean environment (no RUNYARD_* of this session, a private config dir), and
commands run the way a person runs them, with their whole output kept for the assertion
messages."""

import os
import re
import signal
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fresh_clone(destination: Path) -> Path:
    """`git clone` of this repository's committed HEAD (what a new user gets)."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(destination)], check=True)
    return destination


def clean_env(config_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "VIRTUAL_ENV"))}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["RUNYARD_CONFIG_DIR"] = str(config_dir)
    env.pop("PYTHONPATH", None)
    return env | extra


def run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Runs to the end and returns stdout+stderr; a failure shows the whole output."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"{argv} ran past {timeout}s:\n{output}") from None
    assert process.returncode == 0, f"{argv} exited {process.returncode}:\n{output}"
    return output


def printed(output: str, label: str) -> str:
    """The value after `label:` in a command's output (e.g. the dashboard URL)."""
    match = re.search(rf"^\s*{re.escape(label)}:\s+(\S+)", output, re.MULTILINE)
    assert match, f"no {label!r} in the output:\n{output}"
    return match.group(1)
