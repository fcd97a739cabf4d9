"""The app's background work: every blocking call (Compose, the engine, a healer's join) runs as a
Textual worker started by a method decorated with `job`, and its failure is reported by one
handler (`Jobs.state_changed`), under the title the job declares, after the job's own `undo`.

A job's method is the app's or one of its parts' (ui.parts): whatever holds the app's `Jobs`.
It runs on a worker thread and hands what it found to the UI thread with `call_from_thread`; the
worker's result is the method's return value. Jobs of the open project (`project=True`) are
cancelled when the app leaves it (a thread cannot be killed: cancelled, its result is dropped by
Textual).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial, wraps
from typing import TYPE_CHECKING, Any, Callable, Concatenate, ParamSpec, Protocol, TypeVar, overload

from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.app import App

P = ParamSpec("P")
R = TypeVar("R")


class Owner(Protocol):
    """What a job's method is on: the app, or a part of it, holding the app's Jobs."""

    @property
    def jobs(self) -> "Jobs": ...


OwnerT = TypeVar("OwnerT", bound=Owner)


@dataclass(frozen=True)
class Job:
    title: str  # what a failure is reported under
    undo: Callable[[BaseException], bool] | None = None  # what a failure undoes; True: nothing more to say
    on_cancel: Callable[[], None] | None = None  # what a cancel undoes
    project: bool = True  # the open project's: cancelled when the app leaves it


@overload
def job(title: str, *, project: bool = True, exclusive: bool = False, thread: bool = True
        ) -> Callable[[Callable[Concatenate[OwnerT, P], R]], Callable[Concatenate[OwnerT, P], Worker[R]]]: ...


@overload
def job(title: str, *, undo: Callable[[OwnerT, BaseException], bool] | None = None,
        on_cancel: Callable[[OwnerT], None] | None = None, project: bool = True, exclusive: bool = False,
        thread: bool = True
        ) -> Callable[[Callable[Concatenate[OwnerT, P], R]], Callable[Concatenate[OwnerT, P], Worker[R]]]: ...


def job(title: str, *, undo: Callable[[OwnerT, BaseException], bool] | None = None,
        on_cancel: Callable[[OwnerT], None] | None = None, project: bool = True, exclusive: bool = False,
        thread: bool = True
        ) -> Callable[[Callable[Concatenate[OwnerT, P], R]], Callable[Concatenate[OwnerT, P], Worker[R]]]:
    """Run the decorated method as a worker of the app (on a thread unless `thread=False`, for a
    coroutine); calling it returns the Worker. `undo` and `on_cancel` are methods of the same owner.
    `exclusive`: a new call cancels the one still running."""

    def decorate(method: Callable[Concatenate[OwnerT, P], R]) -> Callable[Concatenate[OwnerT, P], Worker[R]]:
        name = method.__name__.strip("_").replace("_", " ")

        @wraps(method)
        def run(self: OwnerT, /, *args: P.args, **kwargs: P.kwargs) -> Worker[R]:
            declared = Job(title, partial(undo, self) if undo is not None else None,
                           partial(on_cancel, self) if on_cancel is not None else None, project)
            return self.jobs.start(partial(method, self, *args, **kwargs), declared, name=name,
                                   group=method.__name__, exclusive=exclusive, thread=thread)

        return run

    return decorate


class Jobs:
    """The app's running jobs, and the one place their failures are said."""

    def __init__(self, app: "App[Any]") -> None:
        self.app = app
        self.running: dict[Worker[Any], Job] = {}

    def start(self, call: Callable[[], R], declared: Job, *, name: str, group: str, exclusive: bool,
              thread: bool) -> Worker[R]:
        """What Textual's `@work` does for a widget's method, for any owner: the app runs it."""
        worker = self.app.run_worker(call, name=name, group=group, description=group, exclusive=exclusive,
                                     exit_on_error=False, thread=thread)
        # On the UI thread, before any of the worker's state changes is handled there: even a job
        # already over is found by state_changed.
        self.running[worker] = declared
        return worker

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
            if declared.undo is not None and declared.undo(error):
                return True
            self.app.notify(str(error) or type(error).__name__, title=declared.title, severity="error", timeout=10)
        elif event.state == WorkerState.CANCELLED and declared.on_cancel is not None:
            declared.on_cancel()
        return True
