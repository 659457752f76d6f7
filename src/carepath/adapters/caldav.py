"""A therapist's CalDAV calendar, with the few DAV calls carepath needs, on httpx.

One object per appointment at ``<calendar URL>/<UID>.ics`` (RFC 4791 §4.1: one UID per
resource, no METHOD). ``put`` creates or replaces, ``delete`` removes (a missing object is
fine), ``objects`` reads every object back with a calendar-query REPORT so a publish can
compare SEQUENCE and touch only what changed. The ``caldav`` package is avoided on purpose:
it pulls in ``urllib3-future``, which replaces ``urllib3`` in every interpreter.
Credentials come from the environment (``CAREPATH_CALDAV_USERNAME`` / ``_PASSWORD``).

Hardening (Basic credentials and patient visits cross the network):

- **https only**, except to this machine (127.0.0.0/8, ::1, localhost); the config check
  refuses an ``http://`` caldav_url first, this is the second line.
- **A private CA** is trusted through ``CAREPATH_CALDAV_CA_BUNDLE`` (a PEM file; it replaces
  the system's list for CalDAV only).
- **Failures say what to fix, and whether retrying can help**: an untrusted certificate, a
  failed TLS handshake, a refused password (401) or missing rights (403) are permanent — they
  stay broken until someone acts — and the message names the setting to change; a server
  that is down or slow is temporary.
- **Redirects** are followed (up to five) only to ``https`` on the same host, so neither
  the password nor the visits are sent somewhere the admin did not name; a redirect of the
  calendar itself moves the base URL of later requests.
- **ETags**: ``objects`` reads each object's ETag and ``put`` returns the new one, so a
  publish can tell that an event was changed on the server since carepath wrote it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit
from xml.etree import ElementTree

import httpx
from icalendar import Calendar

from carepath.domain.config.types import is_loopback_url
from carepath.errors import DeliveryFailed, InputError

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
CA_SETTING = "CAREPATH_CALDAV_CA_BUNDLE"

_NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav"}
_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter>
  </c:filter>
</c:calendar-query>"""
_MKCALENDAR = b"""<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:set><d:prop><d:displayname>carepath</d:displayname></d:prop></d:set>
</c:mkcalendar>"""


@dataclass(frozen=True)
class RemoteObject:
    """One calendar object as the server has it."""

    uid: str
    href: str
    sequence: int
    ics: bytes
    etag: str | None = None


class CalDavCalendar:
    """One calendar collection; every failure is a ``DeliveryFailed`` naming the URL."""

    name = "caldav"

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 timeout: float = 30.0, ca_bundle: Path | None = None) -> None:
        if not url.startswith("https://") and not (url.startswith("http://")
                                                    and is_loopback_url(url)):
            raise InputError(f"CalDAV URL {url}", "only https:// is allowed (http:// only to "
                             "this machine), so the password and visits are never sent in "
                             "clear", "change caldav_url in clinic.yaml to the https:// address")
        self.url = url if url.endswith("/") else url + "/"
        auth = httpx.BasicAuth(username, password or "") if username else None
        verify: ssl.SSLContext | bool = True
        if ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(ca_bundle))
        self.client = httpx.Client(auth=auth, timeout=timeout, follow_redirects=False,
                                   verify=verify)

    def close(self) -> None:
        self.client.close()

    def href(self, uid: str) -> str:
        return self.url + quote(uid, safe="@.-_") + ".ics"

    def ensure(self) -> None:
        """Create the calendar collection when it does not exist yet."""
        found = self._call("PROPFIND", self.url, headers={"Depth": "0"}, ok=(207, 404))
        if found.status_code == 207:
            return
        made = self._call("MKCALENDAR", self.url, content=_MKCALENDAR, ok=(201, 409))
        if made.status_code == 409:  # the parent (the user's home) does not exist yet
            parent = self.url.rstrip("/").rpartition("/")[0] + "/"
            self._call("MKCOL", parent, ok=(201, 405))
            self._call("MKCALENDAR", self.url, content=_MKCALENDAR, ok=(201,))

    def put(self, uid: str, ics: bytes) -> str | None:
        """Create or replace the object; returns the server's new ETag when it says one."""
        response = self._call("PUT", self.href(uid), content=ics, ok=(200, 201, 204),
                              headers={"Content-Type": "text/calendar; charset=utf-8"})
        etag = response.headers.get("ETag")
        return str(etag) if etag else None

    def delete(self, uid: str) -> None:
        self._call("DELETE", self.href(uid), ok=(200, 204, 404))

    def get(self, uid: str) -> bytes | None:
        response = self._call("GET", self.href(uid), ok=(200, 404))
        return None if response.status_code == 404 else response.content

    def objects(self) -> dict[str, RemoteObject]:
        """Every VEVENT object in the calendar, by UID."""
        response = self._call("REPORT", self.url, content=_QUERY, ok=(207,),
                              headers={"Depth": "1", "Content-Type": "application/xml"})
        found: dict[str, RemoteObject] = {}
        for item in ElementTree.fromstring(response.content).findall("d:response", _NS):
            href = item.findtext("d:href", default="", namespaces=_NS)
            data = item.findtext(".//c:calendar-data", default="", namespaces=_NS)
            etag = item.findtext(".//d:getetag", default="", namespaces=_NS) or None
            if data:
                found.update(_parse(href, data.encode("utf-8"), etag))
        return found

    def _call(self, method: str, url: str, *, ok: tuple[int, ...], content: bytes | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, content, headers)
            if response.status_code not in REDIRECTS:
                break
            target = self._redirect_target(url, response)
            if url == self.url:  # the calendar itself moved: later requests go there too
                self.url = target if target.endswith("/") else target + "/"
            url = target
        else:
            raise DeliveryFailed(url, self.name, f"more than {MAX_REDIRECTS} redirects",
                                 permanent=True)
        if response.status_code not in ok:
            raise DeliveryFailed(url, self.name, _refusal(method, response),
                                 permanent=400 <= response.status_code < 500)
        return response

    def _send(self, method: str, url: str, content: bytes | None,
              headers: dict[str, str] | None) -> httpx.Response:
        try:
            return self.client.request(method, url, content=content, headers=headers)
        except httpx.ConnectError as error:
            tls = _tls_problem(error)
            if tls:
                raise DeliveryFailed(url, self.name, tls, permanent=True) from error
            raise DeliveryFailed(url, self.name, f"{type(error).__name__}: {error}",
                                 permanent=False) from error
        except httpx.HTTPError as error:
            raise DeliveryFailed(url, self.name, f"{type(error).__name__}: {error}",
                                 permanent=False) from error

    def _redirect_target(self, url: str, response: httpx.Response) -> str:
        """The redirect's absolute target, or a permanent failure when it leaves https on
        this host (the credentials would follow it)."""
        target: str = urljoin(url, str(response.headers.get("Location", "")))
        here, there = urlsplit(url), urlsplit(target)
        if there.scheme != "https" or there.hostname != here.hostname:
            raise DeliveryFailed(url, self.name, (
                f"redirected to {target}: carepath follows redirects only to https on the "
                f"same host ({here.hostname}); if the calendar really lives there, put that "
                "address in caldav_url in clinic.yaml"), permanent=True)
        return target


def _tls_problem(error: httpx.ConnectError) -> str:
    """What to fix when a connection failed on TLS (certificate or handshake), else ''."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (f"the server's TLS certificate is not trusted ({cause.verify_message}): set "
                f"{CA_SETTING} to the PEM file of the CA that signed it, or give the server "
                "a certificate for this host name from a public CA")
    if cause is not None:
        return (f"the TLS handshake failed ({cause.reason or cause}): check that caldav_url "
                "names the server's https port, and that the server offers TLS 1.2 or newer")
    return ""


def _refusal(method: str, response: httpx.Response) -> str:
    said = f"{method} answered {response.status_code} {response.reason_phrase}"
    if response.status_code == 401:
        return (f"{said}: the server refused the user name or password; check "
                "CAREPATH_CALDAV_USERNAME and CAREPATH_CALDAV_PASSWORD")
    if response.status_code == 403:
        return (f"{said}: this account may not write the calendar; check its rights on the "
                "server, or the calendar URL (caldav_url in clinic.yaml)")
    return said


def _parse(href: str, ics: bytes, etag: str | None = None) -> dict[str, RemoteObject]:
    found = {}
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        uid = str(event.get("UID"))
        found[uid] = RemoteObject(uid=uid, href=href, sequence=int(event.get("SEQUENCE", 0)),
                                  ics=ics, etag=etag)
    return found
