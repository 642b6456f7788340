"""Two local stacks on one machine (as two `runyard up` in two directories): each has its own
Redis and prefix, and each completes its own run. A third one pointed at the first one's Redis
and prefix refuses to start, naming the stack that uses them."""

from contextlib import ExitStack

import pytest

from runyard.local_stack import LocalStack, StackError, StackOptions
from tests.e2e.stack import client_for, free_port
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow]

SPEC = {
    "name": "side-by-side",
    "project": "examples",
    "model": {"entrypoint": "tests.worker.tiny_models:TinyClassifier"},
    "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
    "trainer": {"max_epochs": 1, "num_sanity_val_steps": 0},
    "export": {"formats": []},
}


def local_stack(data_dir, **options) -> LocalStack:
    return LocalStack(
        StackOptions(
            data_dir=data_dir,
            port=free_port(),
            extra_env={"RUNYARD_SCHEDULER_TICK_SECONDS": "0.2"},
            say=lambda _m: None,
            **options,
        )
    )


def test_two_stacks_side_by_side_each_complete_a_run_and_a_third_on_their_prefix_is_refused(
    tmp_path,
):
    with ExitStack() as started:
        stacks = []
        for name in ("alice", "bob"):
            stack = local_stack(tmp_path / name)
            started.callback(stack.down)
            stack.up()
            stacks.append(stack)
        first, second = stacks
        assert first.redis_url != second.redis_url
        assert first.options.prefix != second.options.prefix

        run_ids = []
        for stack in stacks:
            with client_for(stack) as client:
                run_ids.append(client.submit(SPEC)["run_ids"][0])
        for stack, run_id in zip(stacks, run_ids, strict=True):
            with client_for(stack) as client:
                run = wait_for(
                    lambda c=client, r=run_id: (
                        (x := c.run(r))["state"] in ("completed", "failed", "canceled") and x
                    ),
                    timeout=180,
                    what=f"run {run_id} on {stack.options.url}",
                )
                assert run["state"] == "completed", run.get("exit_reason")
                # Each stack sees only its own run.
                assert [r["id"] for r in client.runs()] == [run_id]

        intruder = local_stack(
            tmp_path / "carol", redis_url=first.redis_url, redis_prefix=first.options.prefix
        )
        with pytest.raises(StackError) as refused:
            intruder.up()
        message = str(refused.value)
        assert str((tmp_path / "alice").resolve()) in message
        assert first.options.url in message and "runyard down" in message
        assert intruder.processes == []

        again = local_stack(tmp_path / "alice")
        with pytest.raises(StackError, match="is already running"):
            again.up()
