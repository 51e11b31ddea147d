"""``python -m server``: the same as ``sealpost serve``."""

from __future__ import annotations

import argparse
import sys

from server.main import add_serve_arguments, serve


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m server", description="Run the Sealpost server."
    )
    add_serve_arguments(parser)
    sys.exit(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
