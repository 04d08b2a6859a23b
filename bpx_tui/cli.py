"""``bpx-tui`` entry point: the console (live or demo), ``sim``, ``bench``, ``config``, ``journal``.

Subcommands import their layer lazily so that ``bpx-tui sim`` never loads Textual and
``bpx-tui --help`` answers instantly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bpx_tui import __version__
from bpx_tui.choices import LOG_LEVELS, one_of

SUBCOMMANDS = ("sim", "bench", "config", "journal")


def _console_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpx-tui",
        description=(
            "Keyboard-first trading console for Backpack Exchange. Without credentials it "
            "starts the demo against a local Backpack-compatible exchange."
        ),
        epilog=(
            "subcommands: bpx-tui sim (local exchange server), bpx-tui bench (performance), "
            "bpx-tui config init (config template), bpx-tui journal (fills and PnL)"
        ),
    )
    parser.add_argument("--version", action="version", version=f"bpx-tui {__version__}")
    parser.add_argument("--demo", action="store_true", help="force the demo (local exchange)")
    parser.add_argument("--symbol", help="active market (default BTC_USDC_PERP or the config's)")
    parser.add_argument("--config", help="config file (default: the platform config dir)")
    parser.add_argument("--profile", help="config profile ([profiles.NAME]) for a subaccount")
    parser.add_argument("--refresh-hz", type=int, help="maximum repaints per second (1-60)")
    parser.add_argument(
        "--log-level", type=one_of(LOG_LEVELS), help=f"one of {', '.join(LOG_LEVELS)}"
    )
    parser.add_argument("--seed", type=int, default=None, help="demo market seed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return _subcommand(args[0], args[1:])
    namespace = _console_parser().parse_args(args)
    from bpx_tui.ui.run import run_console

    return run_console(namespace)


def _subcommand(name: str, rest: list[str]) -> int:
    if name == "sim":
        from bpx_tui.sim.cli import main as sim_main

        return sim_main(rest)
    if name == "bench":
        from bpx_tui.bench import main as bench_main

        return bench_main(rest)
    if name == "journal":
        from bpx_tui.trading.journal_cli import main as journal_main

        return journal_main(rest)
    from bpx_tui.config_cli import main as config_main

    return config_main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
