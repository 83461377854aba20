"""`python -m benchmark ...`: see `python -m benchmark --help`."""

from benchmark.cli import main

raise SystemExit(main())
