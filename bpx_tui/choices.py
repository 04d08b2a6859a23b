"""Command-line options with a fixed set of values: refused with the allowed values named.

argparse's own ``choices`` lists the values but is case-sensitive and never suggests;
a trader typing ``--log-level info`` or ``--log-level WARN`` should get the value or a
"did you mean", and a value nothing resembles gets only the list (a far-fetched
suggestion is noise).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Sequence

__all__ = ["LOG_LEVELS", "did_you_mean", "one_of", "refusal"]

# The log levels a user may name (config ``log_level``, ``--log-level``), loudest last.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# How alike a typo must be to be suggested (difflib's ratio); 0.6 is difflib's own default.
_CLOSE_ENOUGH = 0.6


def did_you_mean(word: str, values: Sequence[str]) -> str:
    """``"; did you mean 'INFO'?"`` when one value is close to ``word``, else ``""``."""
    folded = {value.casefold(): value for value in values}
    close = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=_CLOSE_ENOUGH)
    return f"; did you mean {folded[close[0]]!r}?" if close else ""


def refusal(word: str, values: Sequence[str]) -> str:
    """The one sentence every refused choice gets."""
    return f"expected one of {', '.join(values)}; got {word!r}{did_you_mean(word, values)}"


def one_of(values: Sequence[str]) -> Callable[[str], str]:
    """An argparse ``type=`` that accepts ``values`` in any case and returns the canonical
    spelling; anything else exits with status 2 and :func:`refusal`'s sentence."""
    canonical = {value.casefold(): value for value in values}

    def parse(text: str) -> str:
        value = canonical.get(text.strip().casefold())
        if value is None:
            raise argparse.ArgumentTypeError(refusal(text, values))
        return value

    parse.__name__ = "choice"  # argparse names the type in some messages
    return parse
