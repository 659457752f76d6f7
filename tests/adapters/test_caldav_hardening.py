"""CalDAV over the network as it should be: https with a private CA from the setting, failures
that say what to fix (and are permanent when only a person can fix them), redirects only to
https on the same host, and server-side edits found by ETag — against a real Radicale."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from caldav_tls_support import Authority, https_front, make_ca
from icalendar import Calendar
from sqlmodel import col, select

from availability import running
from carepath.adapters.caldav import CalDavCalendar
from carepath.adapters.db import transaction
from carepath.adapters.tables import AuditRow
from carepath.config.settings import Settings
from carepath.errors import DeliveryFailed, InputError
from carepath.services import App
from carepath.services.calendars import publish_calendars
from carepath.services.messaging_testing import add_patient_row, book, weekly
from carepath.testing import free_port, radicale_server

NY = ZoneInfo("America/New_York")
ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
       b"UID:probe@riverside\r\nDTSTAMP:20270301T120000Z\r\nDTSTART:20270310T140000Z\r\n"
       b"DTEND:20270310T144500Z\r\nSUMMARY:probe\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """Another CA, which did not sign the server's certificate."""
    return make_ca(tmp_path_factory.mktemp("other-ca"), "someone else's CA")


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    with running("Radicale", radicale_server(tmp_path, free_port())) as url:
        yield url


@pytest.fixture
def https(authority: Authority, radicale: str) -> Iterator[str]:
    with https_front(authority, radicale) as url:
        yield url


def round_trip(calendar: CalDavCalendar) -> list[str]:
    try:
        calendar.ensure()
        calendar.put("probe@riverside", ICS)
        return sorted(calendar.objects())
    finally:
        calendar.close()


def test_a_private_ca_named_by_the_setting_is_trusted(
        https: str, authority: Authority, tmp_path: Path) -> None:
    """CAREPATH_CALDAV_CA_BUNDLE → Settings → the client: create, write and read over TLS."""
    settings = Settings.from_env({"CAREPATH_CALDAV_CA_BUNDLE": str(authority.ca)}, tmp_path)
    assert settings.caldav_ca_bundle == authority.ca
    calendar = CalDavCalendar(f"{https}/alvarez/clinic/", username="carepath",
                              ca_bundle=settings.caldav_ca_bundle, timeout=5)
    assert round_trip(calendar) == ["probe@riverside"]


@pytest.mark.parametrize("trust", ["system", "another CA"])
def test_an_untrusted_certificate_is_permanent_and_names_the_setting(
        https: str, stranger: Authority, trust: str) -> None:
    """Not signed by a trusted CA: failed permanently, saying to set the CA bundle."""
    calendar = CalDavCalendar(f"{https}/alvarez/clinic/", username="carepath", timeout=5,
                              ca_bundle=stranger.ca if trust == "another CA" else None)
    with pytest.raises(DeliveryFailed) as caught:
        round_trip(calendar)
    assert caught.value.permanent
    assert "certificate is not trusted" in str(caught.value)
    assert "CAREPATH_CALDAV_CA_BUNDLE" in str(caught.value)


def test_tls_to_a_plain_http_port_is_permanent_and_says_to_check_the_port(
        radicale: str, authority: Authority) -> None:
    """https:// to a server that speaks plain http: a handshake failure, permanent."""
    url = radicale.replace("http://", "https://") + "/alvarez/clinic/"
    with pytest.raises(DeliveryFailed) as caught:
        round_trip(CalDavCalendar(url, username="x", ca_bundle=authority.ca, timeout=5))
    assert caught.value.permanent and "https port" in str(caught.value)


def test_a_redirect_to_https_on_the_same_host_is_followed(
        https: str, authority: Authority) -> None:
    """/moved/… answers 301 to /…: followed, and later requests go to the new address."""
    calendar = CalDavCalendar(f"{https}/moved/alvarez/clinic/", username="carepath",
                              ca_bundle=authority.ca, timeout=5)
    assert round_trip(calendar) == ["probe@riverside"]
    assert calendar.url == f"{https}/alvarez/clinic/"
    direct = CalDavCalendar(f"{https}/alvarez/clinic/", username="carepath",
                            ca_bundle=authority.ca, timeout=5)
    assert sorted(direct.objects()) == ["probe@riverside"]
    direct.close()


@pytest.mark.parametrize(("prefix", "where"), [("elsewhere", "https://localhost:"),
                                               ("plain", "http://127.0.0.1:")])
def test_a_redirect_to_another_host_or_to_http_is_refused(
        https: str, authority: Authority, prefix: str, where: str) -> None:
    """Credentials never follow a redirect off https or off the named host: permanent."""
    calendar = CalDavCalendar(f"{https}/{prefix}/alvarez/clinic/", username="carepath",
                              password="s3cret", ca_bundle=authority.ca, timeout=5)
    with pytest.raises(DeliveryFailed) as caught:
        round_trip(calendar)
    assert caught.value.permanent
    assert f"redirected to {where}" in str(caught.value)
    assert "only to https on the same host" in str(caught.value)


def test_a_refused_password_is_permanent_and_names_the_settings(tmp_path: Path) -> None:
    """Radicale with real accounts: a wrong password is 401, permanent, and says which
    settings hold the login; the right one works."""
    guarded = radicale_server(tmp_path, free_port(), users={"carepath": "right"})
    with running("Radicale", guarded) as url:
        wrong = CalDavCalendar(f"{url}/carepath/clinic/", username="carepath",
                               password="wrong", timeout=5)
        with pytest.raises(DeliveryFailed) as caught:
            round_trip(wrong)
        right = CalDavCalendar(f"{url}/carepath/clinic/", username="carepath",
                               password="right", timeout=5)
        assert round_trip(right) == ["probe@riverside"]
    assert caught.value.permanent and "401" in str(caught.value)
    assert "CAREPATH_CALDAV_USERNAME and CAREPATH_CALDAV_PASSWORD" in str(caught.value)


@pytest.mark.parametrize("url", ["http://dav.riverside.example/alvarez/",
                                 "http://10.0.0.8/alvarez/", "ftp://127.0.0.1/x/"])
def test_a_calendar_url_off_this_machine_must_be_https(url: str) -> None:
    """http:// only to loopback; anything else is refused before a byte is sent."""
    with pytest.raises(InputError, match="only https:// is allowed"):
        CalDavCalendar(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5232/a/", "http://localhost/a/",
                                 "http://[::1]:5232/a/", "https://dav.example/a/"])
def test_loopback_http_and_any_https_are_accepted(url: str) -> None:
    """A server on this machine may speak http (nothing crosses the network)."""
    CalDavCalendar(url).close()


def test_a_ca_bundle_setting_that_is_not_a_pem_certificate_is_a_clear_error(
        tmp_path: Path) -> None:
    """Missing file, or a file without a certificate: the variable is named with the fix."""
    with pytest.raises(InputError, match="CAREPATH_CALDAV_CA_BUNDLE: cannot read"):
        Settings.from_env({"CAREPATH_CALDAV_CA_BUNDLE": "missing.pem"}, tmp_path)
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(InputError, match="holds no PEM certificate"):
        Settings.from_env({"CAREPATH_CALDAV_CA_BUNDLE": "key.pem"}, tmp_path)


def with_calendars(app: App, radicale: str) -> App:
    therapists = [t.model_copy(update={"caldav_url": f"{radicale}/{t.id}/clinic/"})
                  if t.id == "alvarez" else t for t in app.config.clinic.therapists]
    clinic = app.config.clinic.model_copy(update={"therapists": therapists})
    app.config = app.config.model_copy(update={"clinic": clinic})
    app.settings = type(app.settings)(**{**app.settings.__dict__, "caldav_username": "carepath"})
    return app


def server_changes(app: App) -> list[dict[str, object]]:
    with transaction(app.engine) as session:
        rows = session.exec(select(AuditRow).where(
            AuditRow.action == "calendar.server_change").order_by(col(AuditRow.id)))
        return [{"appointment": r.entity_id, **json.loads(r.detail)} for r in rows]


def test_an_event_changed_or_deleted_on_the_server_is_reported_then_restored(
        app: App, radicale: str) -> None:
    """Someone drags a visit in their calendar app and deletes another: the next publish
    names both (report and audit, with both ETags) and puts carepath's versions back;
    the publish after that finds nothing to say."""
    with_calendars(app, radicale)
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example")
    ids = book(app, "MRN1", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NY), 3))
    first = publish_calendars(app)
    assert (first.created, first.server_changes) == (3, [])
    calendar = CalDavCalendar(f"{radicale}/alvarez/clinic/", username="someone")
    objects = calendar.objects()
    uids = sorted(objects, key=lambda u: Calendar.from_ical(objects[u].ics).walk("VEVENT")[0]
                  .start)
    dragged = objects[uids[0]].ics.replace(b"T090000", b"T160000")
    calendar.put(uids[0], dragged)
    calendar.delete(uids[1])

    second = publish_calendars(app)

    assert [(c.appointment_id, c.change) for c in second.server_changes] == [
        (ids[0], "changed"), (ids[1], "deleted")]
    assert "Mon 2027-03-08 09:00" in str(second.server_changes[0])
    assert (second.restored, second.created, second.updated, second.unchanged) == (2, 0, 0, 1)
    audit = server_changes(app)
    assert [(a["appointment"], a["change"]) for a in audit] == [
        (str(ids[0]), "changed"), (str(ids[1]), "deleted")]
    assert audit[0]["written_etag"] != audit[0]["server_etag"] is not None
    restored = calendar.objects()
    calendar.close()
    assert sorted(restored) == sorted(uids)
    (event,) = Calendar.from_ical(restored[uids[0]].ics).walk("VEVENT")
    assert event.start.astimezone(NY) == datetime(2027, 3, 8, 9, 0, tzinfo=NY)
    third = publish_calendars(app)
    assert (third.server_changes, third.unchanged) == ([], 3)
