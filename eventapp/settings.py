"""Settings from the environment (all `EVENTAPP_*`), with safe defaults for a laptop."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTAPP_", env_file=".env", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where the SQLite file and secret live.")
    database_url: str = Field(
        default="",
        description="sqlite:///path or postgresql://user@host/db; empty: a file under var_dir.",
    )
    redis_url: str | None = Field(default=None, description="Enables cross-process fan-out.")
    redis_namespace: str = Field(
        default="eventapp",
        max_length=64,
        description="Prefix of every Redis key, so deployments can share one Redis.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs tokens; generated under var_dir on first run when unset."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = Field(
        default=False,
        description="uvicorn's per-request access log (40-60 us a request; the proxy logs too).",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For is trusted ('*' behind a private proxy).",
    )
    public_url: str = Field(default="", description="Base URL used in invitation links.")
    secure_cookies: bool = Field(default=False, description="Set the Secure flag (behind HTTPS).")
    static_dir: Path = PROJECT_ROOT / "static"
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:password@host:587 (STARTTLS when offered), smtps://... (TLS), "
        "or smtp+starttls://... (STARTTLS required). Unset: mail stays in the outbox.",
    )
    mail_from: str = Field(default="eventapp <noreply@localhost>", description="The From header.")
    mail_log_bodies: bool = Field(
        default=False,
        description="Without SMTP, write whole messages (links included) to the log: for a "
        "laptop demo only. Otherwise only who, what and when are logged.",
    )
    mail_lease_s: float = Field(default=60, gt=0, description="How long a sender holds a message.")
    mail_retry_s: float = Field(default=30, gt=0, description="First retry delay; then doubling.")
    mail_max_attempts: int = Field(default=8, ge=1, le=50)
    mail_poll_s: float = Field(default=2, gt=0, description="How often the sender looks for mail.")
    ws_compression: bool = Field(
        default=False,
        description="Per-message deflate on websockets (about 64 KiB a connection, 14 without).",
    )
    demo_live_s: float = Field(
        default=0,
        ge=0,
        description="`eventapp demo --live`: seconds between the demo's stage actions (0: off).",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    postgres_pool_size: int = Field(default=10, ge=1, le=200)

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'eventapp.sqlite').as_posix()}"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def secret(self) -> bytes:
        """The key for signed tokens: from the environment, else generated once and kept on disk."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.var_dir / "secret_key"
        if not path.exists():
            # Written whole to a private temporary file, then linked into place: several workers
            # starting at once agree on one key, and none ever reads a half-written file.
            self.var_dir.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.var_dir, prefix=".secret_key.")
            try:
                with os.fdopen(descriptor, "w") as file:
                    file.write(secrets.token_urlsafe(48))
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, path)
            finally:
                os.unlink(temporary)
        return path.read_text().strip().encode()
