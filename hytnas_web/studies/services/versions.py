"""The study's change counter, which lets a dashboard ask for only what changed since its last look.

Every write of results bumps ``Study.version`` and stamps the written rows (evaluations,
iterations) with the new value, inside the writing transaction. A reader takes the study's version
first and the rows second, so it can see a row twice (harmless: clients replace rows by id) but
never miss one.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from hytnas_web.studies.models import Study


def bump_version(study_id: int) -> int:
    """Increment the study's version and return the new value.

    Call it inside the transaction that writes the rows it stamps: on PostgreSQL the UPDATE holds the
    study's row lock until commit, so concurrent writers get distinct, ordered versions.
    """
    with transaction.atomic():
        Study.objects.filter(pk=study_id).update(version=F("version") + 1)
        return int(Study.objects.values_list("version", flat=True).get(pk=study_id))
