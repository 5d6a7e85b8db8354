"""Upload progress: a ``tqdm.auto`` bar over rows, or a callable, or nothing.

Internal to :class:`audframe.Sender`. ``progress=None`` shows a bar when stderr is a
terminal or the code runs in a Jupyter notebook, and stays quiet otherwise (CI, cron,
a pipe); ``True``/``False`` force it; a callable gets ``(rows_done, rows_total)``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["Progress", "ProgressSetting", "wants_bar"]

ProgressSetting = bool | Callable[[int, int | None], object] | None


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except AttributeError:
        return False
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def _stderr_is_a_terminal() -> bool:
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def wants_bar(setting: ProgressSetting) -> bool:
    """Whether ``setting`` asks for a tqdm bar (``None``: in a terminal or a notebook)."""
    if setting is None:
        return _stderr_is_a_terminal() or _in_notebook()
    return setting is True


@functools.cache
def _bar_class() -> Any:
    """``tqdm.auto.tqdm`` without its monitor thread.

    The bar is updated once per acknowledged batch from the sending thread (``miniters=1``
    draws each update, at most every ``mininterval``), so tqdm's background monitor, which
    wakes every 10 s to redraw bars that went quiet, has nothing to do: without it, no
    thread outlives the upload and nothing writes to stderr but the sender.
    """
    from tqdm.auto import tqdm

    class _Bar(tqdm):  # type: ignore[misc]
        monitor_interval = 0

    return _Bar


class Progress:
    """Counts acknowledged rows and shows them as ``setting`` asks; close it when done."""

    def __init__(self, setting: ProgressSetting, total: int | None, desc: str) -> None:
        self.done = 0
        self.total = total
        self._bar: Any = None
        self._callback = None if isinstance(setting, bool) else setting
        if wants_bar(setting) and sys.stderr is not None:  # pythonw and services have none
            self._bar = _bar_class()(total=total, unit="rows", unit_scale=True, desc=desc,
                                     miniters=1, file=sys.stderr)

    def update(self, rows: int) -> None:
        self.done += rows
        if self._bar is not None:
            self._bar.update(rows)
        elif self._callback is not None:
            self._callback(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
