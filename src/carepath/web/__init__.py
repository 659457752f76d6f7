"""The clinic's web app: a therapist's day, the escalations inbox, the admin's board, patient
self-service links and calendar feeds, and the FHIR read API at ``/fhir``.

Server-rendered pages (Jinja2, the email templates' look) with plain forms; no script runs
in the pages. Handlers read the request, call a service and render what it returns: every
rule lives in ``carepath.services`` and ``carepath.domain``, exactly as the CLI uses them.
"""

from carepath.web.app import create_app

__all__ = ["create_app"]
