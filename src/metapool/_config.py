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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["config_context", "get_config", "register_setting", "set_config"]

_DEFAULTS: dict[str, Any] = {"convention": "metafor"}
#: setting -> function that checks a value and returns what is stored; filled by the
#: modules that own the settings (``conventions`` registers ``convention``), so that
#: this module imports nothing of metapool
_CHECKS: dict[str, Callable[[Any], Any]] = {}
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


def register_setting(name: str, check: Callable[[Any], Any]) -> None:
    """Declare how a setting's value is checked (the owning module calls this)."""
    _CHECKS[name] = check


def _updated(**settings: Any) -> dict[str, Any]:
    config = dict(_CONFIG.get())
    for name, value in settings.items():
        if value is not None:
            config[name] = _CHECKS[name](value) if name in _CHECKS else value
    return config


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
    _CONFIG.set(_updated(convention=convention))


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
    token = _CONFIG.set(_updated(convention=convention))
    try:
        yield
    finally:
        _CONFIG.reset(token)
