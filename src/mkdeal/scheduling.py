"""Scheduled work: `mkdeal run-due` runs whatever is due, in a declared order.

A step has a name, the steps it must follow, a `due` function that lists the pieces of
work due as idempotency keys (for example a date, or a hash of the loads a refresh
reflects), and a `run` function that does one piece. A piece that has succeeded is never
run again; one whose process died half-way is marked `abandoned` by the next run and done
again, so every step must reach the same state when re-run (write by natural key, replace
whole slices, publish by content). One lock means two runs never overlap.

Production calls `mkdeal run-due` from cron every five minutes (see README).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from mkdeal.appdb.models import ScheduledRun
from mkdeal.locking import exclusive_lock, lock_path
from mkdeal.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepContext:
    """What a step receives: "today" is `as_of`, never the clock."""

    as_of: date
    settings: Settings | None
    app_engine: Engine


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    due: Callable[[StepContext], Iterable[str]]
    run: Callable[[StepContext, str], str | None]
    after: tuple[str, ...] = ()


@dataclass
class StepRegistry:
    """The steps `run-due` knows, kept in an order that respects every `after`."""

    steps: dict[str, Step] = field(default_factory=dict)

    def register(self, step: Step) -> Step:
        if step.name in self.steps:
            raise ValueError(f"A step named {step.name!r} is already registered.")
        self.steps[step.name] = step
        return step

    def ordered(self) -> list[Step]:
        """Steps in registration order, moved later where needed to follow their `after`."""
        for step in self.steps.values():
            unknown = [name for name in step.after if name not in self.steps]
            if unknown:
                raise ValueError(f"Step {step.name!r} must follow unknown step(s) {unknown}.")
        ordered: list[Step] = []
        placed: set[str] = set()
        waiting = list(self.steps.values())
        while waiting:
            ready = [step for step in waiting if set(step.after) <= placed]
            if not ready:
                names = sorted(step.name for step in waiting)
                raise ValueError(f"Steps {names} must follow each other in a circle.")
            step = ready[0]
            ordered.append(step)
            placed.add(step.name)
            waiting.remove(step)
        return ordered


def default_registry() -> StepRegistry:
    """The product's steps. Each part registers its own here as it is built."""
    from mkdeal.activity.ingest import DELETION_STEP, FINALISE_STEP, INGEST_STEP
    from mkdeal.activity.nightly import AWARD_STEP, GOALS_STEP, VOUCHERS_STEP
    from mkdeal.measures.refresh import STEP as refresh_measures

    registry = StepRegistry()
    registry.register(refresh_measures)
    registry.register(INGEST_STEP)
    registry.register(FINALISE_STEP)
    registry.register(DELETION_STEP)
    registry.register(GOALS_STEP)
    registry.register(AWARD_STEP)
    registry.register(VOUCHERS_STEP)
    return registry


@dataclass(frozen=True)
class PlannedWork:
    step: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class RunResult:
    step: str
    idempotency_key: str
    outcome: str  # succeeded, failed, or skipped (a step it follows failed)
    summary: str


def plan(registry: StepRegistry, context: StepContext) -> list[PlannedWork]:
    """What is due now, step by step, without doing it."""
    with Session(context.app_engine) as session:
        return [
            PlannedWork(step.name, tuple(_due_keys(step, context, session)))
            for step in registry.ordered()
        ]


def _due_keys(step: Step, context: StepContext, session: Session) -> list[str]:
    done = set(
        session.scalars(
            select(ScheduledRun.idempotency_key).where(
                ScheduledRun.step == step.name, ScheduledRun.outcome == "succeeded"
            )
        )
    )
    keys = []
    for key in step.due(context):
        if key not in done and key not in keys:
            keys.append(key)
    return keys


def run_due(
    registry: StepRegistry,
    context: StepContext,
    *,
    data_dir: Path,
    progress: Callable[[str], None] = lambda message: None,
) -> list[RunResult]:
    """Run every piece of due work once, in step order, under the run-due lock."""
    with exclusive_lock(lock_path(data_dir, "run-due"), what="run-due", purpose="run-due"):
        abandoned = _mark_abandoned(context.app_engine)
        if abandoned:
            progress(
                f"{abandoned} run(s) from an earlier run-due never finished; doing them again."
            )
        results: list[RunResult] = []
        failed: set[str] = set()
        for step in registry.ordered():
            blocked_by = [name for name in step.after if name in failed]
            with Session(context.app_engine) as session:
                keys = _due_keys(step, context, session)
            for key in keys:
                if blocked_by:
                    summary = f"not run because {', '.join(blocked_by)} failed"
                    results.append(RunResult(step.name, key, "skipped", summary))
                    continue
                result = _run_one(step, key, context, progress)
                results.append(result)
                if result.outcome == "failed":
                    failed.add(step.name)
            if blocked_by:
                failed.add(step.name)
        return results


def _mark_abandoned(engine: Engine) -> int:
    # Only called under the run-due lock, so a run still marked running has no process.
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(ScheduledRun)
            .where(ScheduledRun.outcome == "running")
            .values(outcome="abandoned", summary="its process ended before it finished")
        )
        return result.rowcount


def _run_one(
    step: Step, key: str, context: StepContext, progress: Callable[[str], None]
) -> RunResult:
    progress(f"{step.name} [{key}] ...")
    with Session(context.app_engine) as session, session.begin():
        run = ScheduledRun(
            step=step.name,
            idempotency_key=key,
            as_of=context.as_of.isoformat(),
            started_at=datetime.now(UTC),
            outcome="running",
        )
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        summary = step.run(context, key) or "done"
        outcome = "succeeded"
    except Exception as error:
        # The message goes to the runs table and the log, so it names the error type and
        # our own message only; steps must not put person-level data in exceptions.
        summary = f"{type(error).__name__}: {error}"
        outcome = "failed"
        log.error("Step %s failed on %s: %s", step.name, key, summary)
    with Session(context.app_engine) as session, session.begin():
        session.execute(
            update(ScheduledRun)
            .where(ScheduledRun.id == run_id)
            .values(outcome=outcome, summary=summary, finished_at=datetime.now(UTC))
        )
    progress(f"{step.name} [{key}] {outcome}: {summary}")
    return RunResult(step.name, key, outcome, summary)


def recent_runs(engine: Engine, limit: int = 20) -> Sequence[ScheduledRun]:
    with Session(engine) as session:
        return session.scalars(
            select(ScheduledRun).order_by(ScheduledRun.id.desc()).limit(limit)
        ).all()
