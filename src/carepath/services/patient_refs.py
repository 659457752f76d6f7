"""Numbers that stand for patients outside carepath (Prefect flow-run parameters and names).

A Prefect server stores every flow run's parameters and shows them in its UI and API; an MRN
there is patient data in a second system. Flows take a patient *reference* instead: a
number meaningless outside this database, created on first use.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import PatientRefRow, PatientRow
from carepath.errors import NotFound
from carepath.services import App


def ref_for(app: App, patient_id: str) -> int:
    """The patient's reference number (made on first use)."""
    for _ in range(2):  # a concurrent first use wins the insert; read its number then
        try:
            with transaction(app.engine) as session:
                row = session.exec(select(PatientRefRow)
                                   .where(PatientRefRow.patient_id == patient_id)).first()
                if row is None:
                    if session.get(PatientRow, patient_id) is None:
                        raise NotFound("patient", patient_id)
                    row = PatientRefRow(patient_id=patient_id)
                    session.add(row)
                    session.flush()
                assert row.id is not None
                return row.id
        except IntegrityError:
            continue
    raise RuntimeError(f"no reference for patient {patient_id}")


def patient_of(app: App, ref: int) -> str:
    """The MRN a reference stands for."""
    with transaction(app.engine) as session:
        row = session.get(PatientRefRow, ref)
    if row is None:
        raise NotFound("patient reference", ref)
    return row.patient_id
