"""Piccolo's configuration module (PICCOLO_CONF points here).

`DB` starts as the engine the settings name, so the `piccolo` command line works as usual; the app
and `eventapp migrate` replace it through `eventapp.db.activate` with the engine they opened.
"""

from piccolo.conf.apps import AppRegistry

from eventapp.db import engine_from_url
from eventapp.settings import Settings

DB = engine_from_url(Settings().resolved_database_url)

APP_REGISTRY = AppRegistry(apps=["eventapp.piccolo_app"])
