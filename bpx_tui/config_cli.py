"""``bpx-tui config init|path|check``: write the template, show where it lives, validate it.

``check`` exists so that a typo is found before the console is opened with real keys.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bpx_tui import paths
from bpx_tui.choices import one_of
from bpx_tui.config import ConfigError, load_settings, write_template


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bpx-tui config", description="Manage the bpx-tui configuration file."
    )
    parser.add_argument(
        "action",
        type=one_of(("init", "path", "check")),
        metavar="{init,path,check}",
        help="init: write a commented template; path: print where the file lives; "
        "check: load and validate it",
    )
    parser.add_argument("--config", help="config file (default: the platform config dir)")
    parser.add_argument("--profile", help="profile to validate with check")
    args = parser.parse_args(list(argv))
    given = Path(args.config).expanduser() if args.config else None
    target = given or paths.config_file()
    try:
        if args.action == "init":
            print(f"wrote {write_template(target)}")
        elif args.action == "path":
            print(target)
        else:
            load_settings(given, args.profile)
            if given is None and not target.exists():
                print(
                    f"no config file at {target}: the defaults apply "
                    "(bpx-tui config init writes a commented template there)"
                )
            else:
                print(f"config OK: {target}")
    except ConfigError as exc:
        print(f"bpx-tui: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"bpx-tui: cannot write {target}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
