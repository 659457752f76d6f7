"""A therapist's CalDAV calendar, with the few DAV calls carepath needs, on httpx.

One object per appointment at ``<calendar URL>/<UID>.ics`` (RFC 4791 §4.1: one UID per
resource, no METHOD). ``put`` creates or replaces, ``delete`` removes (a missing object is
fine), ``objects`` reads every object back with a calendar-query REPORT so a publish can
compare SEQUENCE and touch only what changed. The ``caldav`` package is avoided on purpose:
it pulls in ``urllib3-future``, which replaces ``urllib3`` in every interpreter.
Credentials come from the environment (``CAREPATH_CALDAV_USERNAME`` / ``_PASSWORD``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote
from xml.etree import ElementTree

import httpx
from icalendar import Calendar

from carepath.errors import DeliveryFailed

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


class CalDavCalendar:
    """One calendar collection; every failure is a ``DeliveryFailed`` naming the URL."""

    name = "caldav"

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 timeout: float = 30.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        auth = httpx.BasicAuth(username, password or "") if username else None
        self.client = httpx.Client(auth=auth, timeout=timeout, follow_redirects=False)

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

    def put(self, uid: str, ics: bytes) -> None:
        self._call("PUT", self.href(uid), content=ics, ok=(200, 201, 204),
                   headers={"Content-Type": "text/calendar; charset=utf-8"})

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
            if data:
                found.update(_parse(href, data.encode("utf-8")))
        return found

    def _call(self, method: str, url: str, *, ok: tuple[int, ...], content: bytes | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = self.client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(url, self.name, f"{type(error).__name__}: {error}",
                                 permanent=False) from error
        if response.status_code not in ok:
            raise DeliveryFailed(url, self.name, f"{method} answered {response.status_code} "
                                 f"{response.reason_phrase}",
                                 permanent=400 <= response.status_code < 500)
        return response


def _parse(href: str, ics: bytes) -> dict[str, RemoteObject]:
    found = {}
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        uid = str(event.get("UID"))
        found[uid] = RemoteObject(uid=uid, href=href, sequence=int(event.get("SEQUENCE", 0)),
                                  ics=ics)
    return found
