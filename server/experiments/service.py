"""Submitting an experiment: validate, expand the search, store the experiment and its runs in
one transaction, and keep the code bundle only once that transaction has committed."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from server.bundles.inspection import BundleLimits, inspect_bundle
from server.bundles.storage import discard, keep
from server.db import utcnow
from server.errors import Forbidden, InvalidInput
from server.experiments.admission import admission_problem, registered_workers
from server.experiments.asha_search import asha_search, budgets_of
from server.experiments.entrypoints import check_entrypoints
from server.experiments.intake import Submission
from server.experiments.models import Experiment, ExperimentTag
from server.experiments.search import SearchError, Trial, expand
from server.projects.models import Project, Role
from server.projects.service import project_by_name, require_role
from server.runs.models import Run
from server.runs.params import flat_params
from server.runs.repository import store_params
from server.runs.service import record_created
from server.users.models import User


@dataclass(frozen=True)
class Plan:
    """What a submission would create: checked, expanded, admitted, nothing stored."""

    project: Project
    trials: list[Trial]
    notes: list[str]


def plan_experiment(
    session: Session, user: User, submission: Submission, limits: BundleLimits
) -> Plan:
    """Every check a submission goes through before anything is stored; raises the 4xx of
    the first problem. Shared by submit and validate, so the two never disagree."""
    spec = submission.spec
    project = project_by_name(session, user, spec.project)
    require_role(session, user, project.id, Role.member)
    if not spec.preemptible and not user.is_admin:
        raise Forbidden(
            "only an administrator may submit a run with preemptible: false (it can hold its "
            "slots against any priority); remove the field or ask an admin"
        )
    bundle = submission.bundle
    if bundle is not None:
        inspect_bundle(bundle.path, limits)
    try:
        trials = expand(spec)
    except SearchError as exc:
        raise InvalidInput(str(exc), loc=exc.loc) from exc
    workers = registered_workers(session)
    notes = []
    for trial in trials:
        problem = admission_problem(trial.spec.resources, workers)
        if problem is not None:
            raise InvalidInput(problem.message, loc=["body", "resources", problem.field])
    if not workers:
        notes.append("no worker has registered yet: the runs wait until one does")
    if (search := asha_search(spec)) is not None:
        notes.append(
            f"ASHA: rungs of {', '.join(map(str, budgets_of(spec)))} epochs; up to "
            f"{search.max_concurrent} trials at once; each rung promotes its best "
            f"1/{search.reduction_factor} by {search.metric} ({search.mode})"
        )
    for finding in check_entrypoints(spec, bundle.path if bundle else None):
        if finding.fatal:
            raise InvalidInput(finding.message, loc=["body", finding.field, "entrypoint"])
        notes.append(finding.message)
    return Plan(project=project, trials=trials, notes=notes)


def validate_experiment(
    session: Session, user: User, submission: Submission, limits: BundleLimits
) -> Plan:
    """The plan of a submission; the spooled bundle is discarded whatever happens."""
    try:
        return plan_experiment(session, user, submission, limits)
    finally:
        session.rollback()
        if submission.bundle is not None:
            discard(submission.bundle)


def create_experiment(
    session: Session,
    user: User,
    submission: Submission,
    artifact_dir: Path,
    limits: BundleLimits,
) -> tuple[Experiment, list[str]]:
    """Returns the experiment and its run ids. The spooled bundle is kept or discarded here,
    whatever happens."""
    bundle = submission.bundle
    try:
        spec = submission.spec
        plan = plan_experiment(session, user, submission, limits)
        project, trials = plan.project, plan.trials
        now = utcnow()
        experiment = Experiment(
            project_id=project.id,
            owner_id=user.id,
            name=spec.name,
            description=spec.description,
            tags=list(dict.fromkeys(spec.tags)),
            spec=spec.model_dump(mode="json"),
            bundle_sha256=bundle.sha256 if bundle else None,
            bundle_size=bundle.size if bundle else None,
            created_at=now,
        )
        session.add(experiment)
        session.flush()
        session.add_all(ExperimentTag(experiment_id=experiment.id, tag=t) for t in experiment.tags)
        # An ASHA search holds its trials (paused) and queues each when it decides to.
        adaptive = asha_search(spec) is not None
        first_state = RunState.paused if adaptive else RunState.queued
        runs = [
            Run(
                experiment_id=experiment.id,
                project_id=project.id,
                owner_id=user.id,
                trial_index=index,
                state=first_state.value,
                attempt=1,
                spec=trial.spec.model_dump(mode="json"),
                params=trial.params,
                priority=trial.spec.priority,
                devices=[],
                created_at=now,
                queued_at=now,
            )
            for index, trial in enumerate(trials)
        ]
        session.add_all(runs)
        session.flush()
        for run in runs:
            record_created(session, run, "submitted; waiting for ASHA" if adaptive else "submitted")
            store_params(session, run.id, flat_params(run.spec, run.params))
        session.commit()
    except BaseException:
        session.rollback()
        if bundle is not None:
            discard(bundle)
        raise
    if bundle is not None:
        keep(bundle, artifact_dir)
    return experiment, [run.id for run in runs]
