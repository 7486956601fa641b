"""``python -m tapegrad demo`` (train the seed's net) and ``python -m tapegrad check``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m tapegrad [--version] COMMAND [ARGS]

commands:
  demo               train a batchnorm + dropout net on handwritten digits
  check [MODULE ...] property-test every registered primitive (and the modules' own)
"""


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv[0] == "--version":
        from . import __version__

        print(f"tapegrad {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "demo":
        from .nn.demo import main as demo_main

        return demo_main(rest)
    if command == "check":
        from .testing.cli import main as check_main

        return check_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
