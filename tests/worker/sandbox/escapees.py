"""A run that tries to outlive its sandbox: a `setsid` daemon and a double-forked orphan, both
ignoring SIGTERM. Each prints `UP <pid>` once running (the run itself too), then sleeps; with
`exit_after=True` the run itself exits once its escapees are up."""

_SLEEPER = (
    "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('UP', os.getpid(), flush=True); open(f'/tmp/up.{os.getpid()}', 'w').close(); "
    "time.sleep(600)"
)


def escapees(*, exit_after: bool = False) -> str:
    return f"""
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", {_SLEEPER!r}], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {_SLEEPER!r}])
    os._exit(0)
print("UP", os.getpid(), flush=True)
while {exit_after!r} and len([p for p in os.listdir("/tmp") if p.startswith("up.")]) < 2:
    time.sleep(0.02)  # until both escapees have said they are up
if not {exit_after!r}:
    time.sleep(600)
"""
