"""What every rule's script shares: per-rule logs, one clear line for a user's error, JSON.

Free of torch, so that jobs which need no model (the report) start quickly.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


class UserError(RuntimeError):
    """A problem the user can fix (config, data, model access, device); shown without traceback."""


@contextlib.contextmanager
def logged(path: str | os.PathLike | None):
    """Send stdout and stderr (tqdm's progress included) to the rule's log file."""
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            yield
        except UserError as err:
            # The user's mistake: its one line is all the log holds, so the profile's
            # show-failed-logs puts that line, and no traceback, on screen.
            print(f"error: {err}", file=log)
            raise
        except BaseException:
            import traceback

            traceback.print_exc(file=log)
            raise
        finally:
            log.flush()
    sys.stderr.flush()


def run_job(main, log_path, *args, **kwargs):
    """Run a rule's main function with its log; a UserError ends the job with one clear line.

    With a log, that line is in the log only: the workflow profile's show-failed-logs prints
    the log of a failed job, which is how the line reaches the screen on a cluster too, and a
    copy on stderr would show it twice. The traceback of anything else stays in the log (and
    so on screen) and is re-raised. Snakemake removes the outputs of a failed job, so no
    half-written file is left behind.
    """
    try:
        with logged(log_path):
            return main(*args, **kwargs)
    except UserError as err:
        sys.exit(1 if log_path is not None else f"error: {err}")


def named(files, drop: tuple[str, ...] = ("code",)) -> dict:
    """A Snakemake input/output list as {name: path}, without the declared code modules."""
    return {k: v for k, v in files.items() if k not in drop}


def write_json(obj, path: str | os.PathLike) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
