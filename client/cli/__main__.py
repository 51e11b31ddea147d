"""Run the CLI as ``python -m client.cli``."""

from .main import main

main()
