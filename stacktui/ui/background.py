"""The app's background work: every blocking call (Compose, the engine, a healer's join) runs as a
Textual worker started by a method decorated with `job`, and its failure is reported by one
handler (`Jobs.state_changed`), under the title the job declares, after the job's own `undo`.

A job's method runs on a worker thread and hands what it found to the UI thread with
`call_from_thread`; the worker's result is the method's return value. Jobs of the open project
(`project=True`) are cancelled when the app leaves it (a thread cannot be killed: cancelled, its
result is dropped by Textual).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, Callable, Concatenate, ParamSpec, TypeVar

from textual import work
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.app import App

P = ParamSpec("P")
R = TypeVar("R")
Undo = Callable[[Any, BaseException], bool]  # (the app, the error) -> whether it said so itself


@dataclass(frozen=True)
class Job:
    title: str  # what a failure is reported under
    undo: Undo | None = None  # what a failure undoes (a flag set, a panel's spinner); True: nothing more to say
    on_cancel: Callable[[Any], None] | None = None  # what a cancel undoes
    project: bool = True  # the open project's: cancelled when the app leaves it


def job(title: str, *, undo: Undo | None = None, on_cancel: Callable[[Any], None] | None = None,
        project: bool = True, exclusive: bool = False, thread: bool = True
        ) -> Callable[[Callable[Concatenate[Any, P], R]], Callable[Concatenate[Any, P], Worker[R]]]:
    """Run the decorated method as a worker (on a thread unless `thread=False`, for a coroutine);
    calling it returns the Worker. `exclusive`: a new call cancels the one still running."""

    def decorate(method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], Worker[R]]:
        declared = Job(title, undo, on_cancel, project)
        start = work(thread=thread, exit_on_error=False, exclusive=exclusive, group=method.__name__,
                     name=method.__name__.strip("_").replace("_", " "))(method)

        @wraps(method)
        def run(self: Any, *args: P.args, **kwargs: P.kwargs) -> Worker[R]:
            worker: Worker[R] = start(self, *args, **kwargs)
            self.jobs.started(worker, declared)
            return worker

        return run

    return decorate


def release_claim(app: Any, error: BaseException) -> bool:
    """The undo of a job that holds the app's one flow (`busy`, set by ChangeFlows._claim)."""
    app.busy = None
    return False


class Jobs:
    """The app's running jobs, and the one place their failures are said."""

    def __init__(self, app: "App") -> None:
        self.app = app
        self.running: dict[Worker[Any], Job] = {}

    def started(self, worker: Worker[Any], declared: Job) -> None:
        # On the UI thread, before any of the worker's state changes is handled there: even a job
        # already over is found by state_changed.
        self.running[worker] = declared

    def cancel_project(self) -> None:
        """The app leaves the project: its jobs' results are not wanted any more."""
        for worker, declared in list(self.running.items()):
            if declared.project:
                worker.cancel()

    def state_changed(self, event: Worker.StateChanged) -> bool:
        """Report a job's failure (after its undo); False for a worker that is no job of the app's."""
        worker = event.worker
        declared = self.running.get(worker)
        if declared is None:
            return False
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            del self.running[worker]
        if event.state == WorkerState.ERROR:
            error = worker.error or RuntimeError("failed")
            if declared.undo is not None and declared.undo(self.app, error):
                return True
            self.app.notify(str(error) or type(error).__name__, title=declared.title, severity="error", timeout=10)
        elif event.state == WorkerState.CANCELLED and declared.on_cancel is not None:
            declared.on_cancel(self.app)
        return True
