"""What `torch.load` raises for a file that is corrupt, truncated or of another kind."""
from __future__ import annotations

import pickle
import zipfile

# A cut zip archive fails with EINVAL (an OSError); random bytes fail inside the unpickler with
# whatever its opcodes happen to hit (IndexError, KeyError, UnicodeDecodeError, ...).
UNREADABLE_FILE_ERRORS: tuple[type[BaseException], ...] = (
    pickle.UnpicklingError,
    RuntimeError,
    EOFError,
    OSError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    UnicodeDecodeError,
    zipfile.BadZipFile,
)
