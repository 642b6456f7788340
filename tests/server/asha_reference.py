"""ASHA as Li et al. (2018) write it ("A System for Massively Parallel Hyperparameter Tuning",
Algorithm 2), kept as close to the paper as Python allows, to check server/experiments/asha.py
against. It keeps the paper's own state: one list per rung of (configuration, loss) in the
order results came in, and which configurations each rung has promoted.

    procedure get_job()
      for k = floor(log_eta(R/r)) - s - 1, ..., 1, 0 do
        candidates = top_k(rung k, |rung k| / eta)
        promotable = {t in candidates : t not already promoted}
        if |promotable| > 0 then
          return promotable[0], k + 1
      Draw random configuration theta.
      return theta, 0

With s = 0 and `top_rung` = floor(log_eta(R/r)). Two details the paper leaves open are fixed
the same way as in Runyard: top_k breaks ties by arrival (a stable sort), a loss of NaN ranks
last, and "draw a configuration" takes the next of a fixed list of num_trials, after which
get_job has nothing to give.
"""

import math
from dataclasses import dataclass, field


@dataclass
class ReferenceAsha:
    top_rung: int
    eta: int
    num_trials: int
    rungs: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    promoted: dict[int, set[int]] = field(default_factory=dict)
    drawn: int = 0

    def top_k(self, k: int, count: int) -> list[int]:
        rung = self.rungs.get(k, [])
        ranked = sorted(rung, key=lambda entry: math.inf if math.isnan(entry[1]) else entry[1])
        return [config for config, _loss in ranked[:count]]

    def get_job(self) -> tuple[int, int] | None:
        for k in range(self.top_rung - 1, -1, -1):
            candidates = self.top_k(k, len(self.rungs.get(k, [])) // self.eta)
            promotable = [t for t in candidates if t not in self.promoted.setdefault(k, set())]
            if promotable:
                self.promoted[k].add(promotable[0])
                return promotable[0], k + 1
        if self.drawn < self.num_trials:
            self.drawn += 1
            return self.drawn - 1, 0
        return None

    def report(self, config: int, k: int, loss: float) -> None:
        """Update configuration theta in rung k with loss l."""
        self.rungs.setdefault(k, []).append((config, loss))
