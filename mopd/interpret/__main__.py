"""`python -m mopd.interpret`: the entry point of `mopd.interpret.cli`."""
from mopd.interpret.cli import main

raise SystemExit(main())
