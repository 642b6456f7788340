"""The chaos suite's workload: a small deterministic classifier that prints one unique line per
training step and takes a little while per step (the workload, not synchronisation), so
faults land mid-training and every printed line can be accounted for."""

import time

from tests.worker.tiny_models import TinyClassifier


class ChaosClassifier(TinyClassifier):
    def training_step(self, batch, batch_idx):
        print(f"[chaos] epoch {self.current_epoch} batch {batch_idx}", flush=True)
        time.sleep(0.1)
        return super().training_step(batch, batch_idx)


class StubbornClassifier(ChaosClassifier):
    """Ignores the preemption signal (the trainer would checkpoint and stop at it)."""

    def on_train_start(self):
        import signal

        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
