"""Following a run in the terminal: state changes, log lines and metrics as they arrive,
then the final metrics and where the checkpoints and exports are."""

import time
from collections.abc import Callable
from typing import Any

from runyard.client import ApiError, Client, ConnectionFailed
from runyard.schemas import TERMINAL_STATES

Say = Callable[[str], None]


def _fmt(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4g}"


class RunFollower:
    """Polls the run, its logs (by cursor) and its metric series; prints what is new."""

    def __init__(self, client: Client, run_id: str, say: Say = print, poll: float = 0.5) -> None:
        self.client = client
        self.run_id = run_id
        self.say = say
        self.poll = poll
        self._after: int | None = None
        self._state = ""
        self._seen_steps: dict[str, int] = {}

    def follow(self, timeout: float | None = None) -> dict[str, Any]:
        """Stream the run's Server-Sent Events; poll the REST API where there are none."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            return self._follow_events(deadline)
        except ApiError as exc:
            if exc.status not in (404, 405, 501):
                raise
        return self._follow_polling(deadline)

    def _follow_events(self, deadline: float | None) -> dict[str, Any]:
        last_id: str | None = None
        broken = 0
        while True:
            try:
                for event in self.client.events(self.run_id, last_event_id=last_id):
                    last_id = event.get("id", last_id)
                    if event["event"] == "end":
                        run = self.client.run(self.run_id)
                        self._summary(run)
                        return run
                    self._show_event(event["event"], event.get("data") or {})
                    if deadline is not None and time.monotonic() > deadline:
                        run = self.client.run(self.run_id)
                        self.say(f"still {run['state']}; stopped following (the run goes on)")
                        return run
            except ConnectionFailed:
                broken += 1
                if broken > 5:
                    raise
                time.sleep(1.0)  # back off, then resume from the last event id

    def _show_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "log":
            for line in data.get("lines", []):
                self.say(("! " if line["stream"] == "stderr" else "  ") + line["text"])
                self._after = line["id"]
        elif kind == "metrics":
            latest: dict[str, dict[str, Any]] = {}
            for point in data.get("points", []):
                latest[point["key"]] = point
            if latest:
                step = max(p["step"] for p in latest.values())
                shown = "  ".join(f"{k}={_fmt(p['value'])}" for k, p in sorted(latest.items()))
                self.say(f"  metrics @ step {step}: {shown}")
        elif kind == "state":
            self._state = data["to_state"]
            attempt = data.get("attempt") or 1
            suffix = f" (attempt {attempt})" if attempt > 1 else ""
            reason = data.get("reason")
            shown = f": {reason}" if reason and reason != self._state else ""
            self.say(f"== {self._state}{suffix}{shown}")

    def _follow_polling(self, deadline: float | None) -> dict[str, Any]:
        while True:
            run = self.client.run(self.run_id)
            self._show_state(run)
            self._show_logs()
            self._show_metrics()
            if run["state"] in TERMINAL_STATES:
                self._show_logs()  # lines stored just before the final state
                self._summary(run)
                return run
            if deadline is not None and time.monotonic() > deadline:
                self.say(f"still {run['state']}; stopped following (the run goes on)")
                return run
            time.sleep(self.poll)  # polling interval

    def _show_state(self, run: dict[str, Any]) -> None:
        if run["state"] != self._state:
            self._state = run["state"]
            reason = run.get("exit_reason")
            attempt = run.get("attempt", 1)
            suffix = f" (attempt {attempt})" if attempt and attempt > 1 else ""
            shown = f": {reason}" if reason and reason != self._state else ""
            self.say(f"== {self._state}{suffix}{shown}")

    def _show_logs(self) -> None:
        while True:
            page = self.client.logs(self.run_id, after=self._after, limit=1000)
            for line in page["lines"]:
                prefix = "! " if line["stream"] == "stderr" else "  "
                self.say(prefix + line["text"])
                self._after = line["id"]
            if not page.get("next_after"):
                return

    def _show_metrics(self) -> None:
        try:
            keys = self.client.metric_keys(self.run_id)
        except ApiError:
            return
        fresh = []
        for key in keys:
            points = self.client.metric(self.run_id, key, max_points=200)
            if not points:
                continue
            last = points[-1]
            if self._seen_steps.get(key) != last["step"]:
                self._seen_steps[key] = last["step"]
                fresh.append(f"{key}={_fmt(last['value'])}")
        if fresh:
            step = max(self._seen_steps.values())
            self.say(f"  metrics @ step {step}: " + "  ".join(fresh))

    def _summary(self, run: dict[str, Any]) -> None:
        say = self.say
        say(f"run {self.run_id} {run['state']}")
        if run.get("traceback"):
            say(run["traceback"])
        try:
            keys = self.client.metric_keys(self.run_id)
        except ApiError:
            keys = []
        if keys:
            say("final metrics:")
            for key in keys:
                points = self.client.metric(self.run_id, key, max_points=10)
                if points:
                    say(f"  {key:<24} {_fmt(points[-1]['value'])}  (step {points[-1]['step']})")
        short = self.run_id[:8]
        try:
            checkpoints = self.client.checkpoints(self.run_id)
            exports = self.client.exports(self.run_id)
        except ApiError:
            checkpoints, exports = [], []
        if checkpoints:
            say(f"checkpoints (runyard download {short} --checkpoint best|last|ID -o DIR):")
        for item in checkpoints:
            flags = " ".join(
                f for f, on in (("best", item.get("is_best")), ("last", item.get("is_last"))) if on
            )
            say(f"  {item['id'][:8]}  epoch {item.get('epoch')} step {item.get('step')}  {flags}")
        if exports:
            say(f"exports (runyard download {short} --export onnx|torchscript -o DIR):")
        for item in exports:
            verified = "verified" if item.get("verified") else "not verified"
            say(f"  {item['format']:<12} {verified}")
