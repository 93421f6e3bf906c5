"""`python -m mopd.study`: see mopd.study.cli."""
import sys

from mopd.study.cli import main

sys.exit(main())
