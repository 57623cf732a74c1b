"""`python -m infra.local_env`: write a local `.env` on first run, never overwrite one.

`make run` calls this so a laptop install has a random SECRET_KEY and the local settings (DEBUG
off, plain-HTTP cookies) in a file that every `manage.py` command reads (settings load it
through python-dotenv); nothing has to be exported in the shell.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

TEMPLATE = """\
# Written by `make run` on first run; never overwritten. Edit freely; the process environment
# wins over this file. Every variable is explained in .env.example.
SECRET_KEY={secret_key}
# The product as people see it: DEBUG off (product 404/500 pages, static files via whitenoise).
# Developers who want Django's debug pages: DEBUG=1.
DEBUG=0
ALLOWED_HOSTS=localhost,127.0.0.1,[::1]
# Plain HTTP on this machine: cookies without the Secure flag, and /ops/ marks the HTTPS
# findings as expected here.
SESSION_COOKIE_SECURE=0
CSRF_COOKIE_SECURE=0
LOCAL_INSTALL=1
"""


def write_local_env(path: Path) -> bool:
    """Create `path` with fresh values; False (and no change) when it already exists."""
    if path.exists():
        return False
    path.write_text(TEMPLATE.format(secret_key=secrets.token_urlsafe(50)))
    path.chmod(0o600)
    return True


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / ".env"
    if write_local_env(path):
        print(f"wrote {path} (random SECRET_KEY, local settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
