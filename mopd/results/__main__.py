"""Entry point of `python -m mopd.results`."""
from mopd.results.cli import main

raise SystemExit(main())
