"""eventapp: run a start-up pitch and investor matchmaking event end to end."""

import os

# Piccolo finds its configuration through this module path; set it before any table is imported so
# that the `piccolo` command line and eventapp agree on the engine and the migrations folder.
os.environ.setdefault("PICCOLO_CONF", "eventapp.piccolo_conf")

__version__ = "0.1.0"
