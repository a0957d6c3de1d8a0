"""Session-wide defaults, in scikit-learn's style: ``set_config``, ``get_config``
and the ``config_context`` context manager.

Today the configuration holds one setting, the default ``convention`` of every
effect-size class and model (``"metafor"`` unless set). An argument given
explicitly to a class always wins over the configuration. The configuration is
held in a :class:`contextvars.ContextVar`, so threads and asyncio tasks each see
their own, and ``config_context`` restores the previous value on exit, also
after an exception.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["config_context", "get_config", "set_config"]

_DEFAULTS: dict[str, Any] = {"convention": "metafor"}
_CONFIG: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "metapool_config", default=_DEFAULTS
)


def get_config() -> dict[str, Any]:
    """The current configuration (a copy).

    Examples
    --------
    >>> import metapool as mp
    >>> mp.get_config()["convention"]
    'metafor'
    """
    return dict(_CONFIG.get())


def _checked(convention: Any) -> str:
    from metapool.conventions import Convention, get_convention

    if isinstance(convention, Convention):
        return convention.name
    return get_convention(convention, "set_config").name


def set_config(*, convention: Any = None) -> None:
    """Set session-wide defaults; ``None`` leaves a setting as it is.

    Parameters
    ----------
    convention : str or Convention, optional
        The convention of every effect-size class and model created afterwards
        without an explicit ``convention=`` (``"metafor"`` or ``"revman5"``).

    Raises
    ------
    InvalidParameterError
        For an unknown convention.

    Examples
    --------
    >>> import metapool as mp
    >>> mp.set_config(convention="revman5")
    >>> mp.RandomEffects().tau2.name
    'DL'
    >>> mp.set_config(convention="metafor")
    """
    config = dict(_CONFIG.get())
    if convention is not None:
        config["convention"] = _checked(convention)
    _CONFIG.set(config)


@contextmanager
def config_context(*, convention: Any = None) -> Iterator[None]:
    """Temporarily change the configuration inside a ``with`` block.

    Examples
    --------
    >>> import metapool as mp
    >>> with mp.config_context(convention="revman5"):
    ...     mp.RandomEffects().tau2.name
    'DL'
    >>> mp.RandomEffects().tau2.name
    'REML'
    """
    config = dict(_CONFIG.get())
    if convention is not None:
        config["convention"] = _checked(convention)
    token = _CONFIG.set(config)
    try:
        yield
    finally:
        _CONFIG.reset(token)
