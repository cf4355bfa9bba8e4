"""Running a plan: its steps in order, in one transaction, each step's duration added to its timing and, where
the result keeps them (RunResult.steps: the benchmark's profile), recorded under its name.

Emulated COPYs that follow each other overlap: when the first starts, the next ones are prepared
(sparkify.copy.streaming.prepare_copy), so their files are read and converted while the server ingests the
first table, from the moment the first one's conversion is ahead of the server; each still runs, reports and
fails in its own turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import psycopg2

from sparkify.errors import LoadError
from sparkify.pipeline.load import CopyStep
from sparkify.pipeline.state import RunState
from sparkify.pipeline.steps import RunContext, Step
from sparkify.warehouse import Warehouse


def execute_steps(ctx: RunContext, steps: Sequence[Step]) -> None:
    """Run `steps` in order in ctx's transaction (which the caller ends)."""
    timings = ctx.result.timings
    profile = getattr(ctx.result, "steps", None)
    try:
        for i, step in enumerate(steps):
            if isinstance(step, CopyStep) and step.applies(ctx.state) and not ctx.wh.is_redshift \
                    and not ctx.prepared:
                _prepare_following_copies(ctx, steps[i + 1:])
            t0 = time.monotonic()
            ctx.session.step = step.name
            try:
                step.run(ctx)
            except psycopg2.DataError as exc:  # a value the run loaded does not fit where the statement puts it
                raise LoadError(data_error(step, exc)) from None
            finally:
                seconds = time.monotonic() - t0
                if step.timing:
                    timings[step.timing] = timings.get(step.timing, 0.0) + seconds
                if profile is not None:
                    profile[step.name] = profile.get(step.name, 0.0) + seconds
    finally:
        for prepared in ctx.prepared.values():  # (a step failed before their turn)
            prepared.close()
        ctx.prepared.clear()


def data_error(step: Step, exc: psycopg2.DataError) -> str:
    """One line for a data error (SQLSTATE class 22) of a step: the statement, the server's words, what it likely
    means (Statement.data_hint) and that nothing of the run stays."""
    text = (exc.pgerror or str(exc)).strip()
    first = text.splitlines()[0].removeprefix("ERROR:").strip() if text else type(exc).__name__
    hint = getattr(getattr(step, "statement", None), "data_hint", "")
    return f"{step.name}: {first} ({hint + '; ' if hint else ''}the run rolled back: nothing of it stays)"


def _prepare_following_copies(ctx: RunContext, rest: Sequence[Step]) -> None:
    """Prepare the emulated COPYs that follow the one about to run; each starts converting once that one is ahead
    of the server (ctx.copy_ahead, which its producer sets: see sparkify.copy.streaming.prepare_copy)."""
    from sparkify.copy.streaming import prepare_copy

    ctx.copy_ahead = threading.Event()
    for step in rest:
        if not isinstance(step, CopyStep):
            break
        if not step.applies(ctx.state):
            continue
        spec = step.spec(ctx.state)
        if spec.manifest:
            continue  # (its manifest is written in its turn)
        ctx.prepared[spec.table] = prepare_copy(ctx.session.conn, spec, after=ctx.copy_ahead)


def execute_plan(wh: Warehouse, steps: Sequence[Step], state: RunState, *, show_progress: bool = True,
                 commit: bool = True):
    """Run a plan in one transaction: commit (or, without `commit`, roll back) if every step succeeded, else roll
    back and re-raise. Returns state.result."""
    with wh.transaction(commit=commit) as conn:
        execute_steps(RunContext(wh, wh.session(conn), state, show_progress), steps)
    return state.result
