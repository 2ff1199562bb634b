"""A Python client generated from /schema/openapi.json (openapi-python-client) works as is."""

from __future__ import annotations

import importlib
import subprocess
import sys
import urllib.request
from pathlib import Path

from eventapp.accounts.schemas import Role
from eventapp.demo import DEMO_SLUG


def test_a_generated_client_signs_in_lists_events_and_reads_the_demo_event(
    live_server, tmp_path: Path, monkeypatch
) -> None:
    document = tmp_path / "openapi.json"
    with urllib.request.urlopen(live_server.url + "/schema/openapi.json", timeout=10) as answer:
        document.write_bytes(answer.read())
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter runs on the generated code
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(
        [str(generator), "generate", "--path", str(document), "--meta", "none"]
        + ["--output-path", str(tmp_path / "eventapp_client"), "--config", str(config)],
        check=True,
        capture_output=True,
        text=True,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    client_module = importlib.import_module("eventapp_client")
    login = importlib.import_module("eventapp_client.api.accounts.login")
    me = importlib.import_module("eventapp_client.api.accounts.me")
    list_events = importlib.import_module("eventapp_client.api.events.list_events")
    get_event = importlib.import_module("eventapp_client.api.events.get_event")
    models = importlib.import_module("eventapp_client.models")

    email, password = live_server.logins[Role.organiser]
    with client_module.Client(base_url=live_server.url, raise_on_unexpected_status=True) as client:
        signed_in = login.sync(
            client=client, body=models.Credentials(email=email, password=password)
        )
        assert isinstance(signed_in, models.MeOut), signed_in
        assert signed_in.email == email
        # The session cookie the sign-in set is sent with the next calls.
        assert me.sync(client=client).email == email

        events = list_events.sync(client=client)
        assert DEMO_SLUG in [event.slug for event in events.items]

        event = get_event.sync(DEMO_SLUG, client=client)
        assert isinstance(event, models.EventOut), event
        assert event.name == "ASEAN Start-up Showcase 2027"
        assert "organiser" in event.my_roles
        assert event.days and event.days[0].opens_at < event.days[0].closes_at

        unknown = get_event.sync("no-such-event", client=client)
        assert unknown.status == 404 and unknown.reason.value == "event_unknown"
