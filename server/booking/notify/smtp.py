"""Sending mail over SMTP with the standard library (``smtplib``).

The password lives only in ``SmtpSettings`` (hidden from its repr) and in the
AUTH exchange; no message, error or log line of this module contains it.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

__all__ = ["MailError", "SmtpMailer", "SmtpSettings"]


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail.

    ``starttls`` upgrades the connection before any credentials are sent;
    ``ca_file`` trusts a private CA for it (default: the system's CAs).
    ``sender`` is the From address of every message.
    """

    host: str
    sender: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender_name: str = "Convene"
    timeout: float = 30.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.host:
            problems.append("smtp.host: must not be empty")
        if not 0 < self.port < 65536:
            problems.append(f"smtp.port: {self.port} is not a TCP port")
        if "@" not in self.sender:
            problems.append(f"smtp.sender: {self.sender!r} is not an email address")
        if self.timeout <= 0:
            problems.append("smtp.timeout: must be positive")
        if self.password is not None and not self.username:
            problems.append("smtp.username: required when a password is set")
        if problems:
            raise ValueError("; ".join(problems))


class MailError(Exception):
    """A message was not sent. ``permanent`` is True when the server refused it
    for good (an SMTP 5xx answer): sending it again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason = reason
        self.permanent = permanent
        super().__init__(reason)


class SmtpMailer:
    """Sends each message over a fresh SMTP connection (mail is rare; no pool to keep healthy)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._where = f"SMTP {settings.host}:{settings.port}"

    def send(self, message: EmailMessage) -> list[str]:
        """Hands ``message`` to the server; returns the recipients it refused (the
        others got it). Raises ``MailError`` when nobody got it."""
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=s.ca_file))
                if s.username:
                    self._login(smtp)
                refused = smtp.send_message(message)
        except MailError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"{self._where}: every recipient refused: {sorted(exc.recipients)}",
                            permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"{self._where}: {exc.smtp_code} {_text(exc.smtp_error)}",
                            permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise MailError(f"{self._where}: {type(exc).__name__}: {exc}") from None
        # Some recipients may be refused while others got it: not an error to retry,
        # since sending again would duplicate the message for those who got it.
        return sorted(refused)

    def _login(self, smtp: smtplib.SMTP) -> None:
        s = self.settings
        try:
            smtp.login(s.username or "", s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            # `from None`: nothing of the AUTH exchange travels on in a traceback.
            # Not permanent: an operator fixes the credentials and the retries go through.
            raise MailError(f"{self._where}: login as {s.username!r} refused ({exc.smtp_code})") from None
        except smtplib.SMTPException as exc:
            raise MailError(f"{self._where}: login as {s.username!r} failed: {type(exc).__name__}") from None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
