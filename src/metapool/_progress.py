"""Progress bars for long batch runs (tqdm, an optional extra, imported when asked)."""

from __future__ import annotations

from typing import Any

from metapool.exceptions import InvalidParameterError, MetapoolTypeError, MissingDependencyError

__all__ = ["Progress", "check_progress"]


def check_progress(owner: str, progress: object) -> bool:
    """``progress`` must be True or False."""
    if not isinstance(progress, bool):
        raise MetapoolTypeError(
            f"The 'progress' parameter of {owner} must be True or False. "
            f"Got {progress!r:.60} instead."
        )
    return progress


class Progress:
    """A bar over ``total`` units of work when ``enabled`` (else it does nothing).

    >>> bar = Progress(10, enabled=False, owner="fit_batch")
    >>> bar.update(5); bar.close()
    """

    def __init__(self, total: int, *, enabled: bool, owner: str, unit: str = "analysis") -> None:
        if total < 0:
            raise InvalidParameterError(f"{owner}: a progress bar needs total >= 0; got {total}.")
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError as exc:
                raise MissingDependencyError(
                    f'{owner}(progress=True) needs tqdm: pip install "metapool[progress]".'
                ) from exc
            self._bar = tqdm(total=total, desc=owner, unit=unit)

    def update(self, n: int) -> None:
        """Record ``n`` more units done."""
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
