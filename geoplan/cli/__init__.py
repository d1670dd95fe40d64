"""The ``geoplan`` command line.

Every command has ``--help``. Exit codes, the same for every command:

====  =====================================================================
0     done
1     ``geoplan check``: some site reached the ``--fail-on`` level
2     unusable input or configuration: the message names the file, layer,
      row, field or rule key, and the fix (also click's usage errors)
3     an internal error (a bug): one line on stderr with the path of a log
      file holding the traceback (in the ``--out`` folder when it can be
      written, else in the temporary folder)
130   interrupted (Ctrl-C)
141   the reader of the output stopped reading (``geoplan diff … | head``):
      no message, as a program stopped by SIGPIPE
====  =====================================================================

A crash is never reported as 1, which scripts read as "a site failed".

The package, one module per group of commands:

- :mod:`.workspace` — ``layers``, ``init``, ``sample``, ``rules``;
- :mod:`.batch` — ``check``, ``map``, ``report``, ``demo``;
- :mod:`.analysis` — ``coverage``, ``connectivity``, ``indicators``, ``villages``;
- :mod:`.placement` — ``buildable``, ``suggest`` (where a house can go);
- :mod:`.database` — ``runs`` (the checks written to a PostGIS database);
- :mod:`.compare` — ``diff`` (what changed between two checks);
- :mod:`.sheets` — ``sheets`` (an A4 PDF sheet per site, 审批表);

and what they share: :mod:`.options` (the inputs of a check, the map options,
the checks of an output path), :mod:`.output` (tables and the summary of a
check) and :mod:`.handler` (the one error handler and the exit codes). A
command only parses its arguments, calls the library and prints; the library
loads on first use, so ``geoplan --help`` stays fast.
"""

from __future__ import annotations

import click

from .._version import __version__
from .analysis import connectivity_cmd, coverage_cmd, indicators_cmd, villages_cmd
from .batch import check_cmd, demo_cmd, map_cmd, report_cmd
from .compare import diff_cmd
from .database import runs_cmd
from .handler import EXIT_FAIL_ON, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from .placement import buildable_cmd, suggest_cmd
from .sheets import sheets_cmd
from .workspace import init_cmd, layers_cmd, rules_cmd, sample_cmd

__all__ = [
    "EXIT_FAIL_ON",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "main",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="geoplan")
def main() -> None:
    """geoplan: spatial checks for rural construction planning (乡村建设规划空间核查).

    Open a workspace of constraint layers, check batches of proposed houses and
    roads against a rule pack, and export verdicts, evidence and maps.
    """


for _command in (layers_cmd, init_cmd, sample_cmd, check_cmd, rules_cmd, demo_cmd, map_cmd,
                 report_cmd, coverage_cmd, connectivity_cmd, indicators_cmd, villages_cmd,
                 buildable_cmd, suggest_cmd, runs_cmd, diff_cmd, sheets_cmd):
    main.add_command(_command)
del _command
