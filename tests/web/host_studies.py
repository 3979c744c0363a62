"""The studies of the other-hosts tests, made inside ``manage.py shell`` on the server (see hosts.py).

``create_and_start(owner)`` prints one JSON line: the two studies' ids and budgets, and the secret of
a worker token for the remote one.
"""

from __future__ import annotations

import json
from typing import Any

BENCHMARK_DELAY = 1.0  # seconds per ZDT1 evaluation: long enough for a link cut to land mid-study


def benchmark_config() -> dict[str, Any]:
    """ZDT1 in 4 variables, 12 evaluations in 3 iterations of 4, each evaluation taking a moment."""
    from tests.web.conftest import zdt1_config_dict

    data = zdt1_config_dict(budget=12, n_init=4, batch_size=4)
    data["evaluator"]["params"]["delay"] = BENCHMARK_DELAY
    return data


def create_and_start(owner_name: str) -> None:
    """Make ``owner_name``, a benchmark study and a remote study with a token, and start both."""
    from django.contrib.auth.models import User

    from hytnas_web.studies import services
    from search_engine.config import StudyConfig
    from tests.web.hardware_studies import hardware_config_dict

    owner = User.objects.create_user(owner_name, f"{owner_name}@example.com", "correct horse battery")
    benchmark = services.save_study(owner, "ZDT1 on host A", StudyConfig.from_dict(benchmark_config()))
    remote = services.save_study(owner, "Measured on host B", StudyConfig.from_dict(hardware_config_dict()))
    issued = services.issue_token(owner, "host B", remote)
    services.start_study(benchmark)
    services.start_study(remote)
    studies = {"benchmark": [benchmark.pk, benchmark.budget], "remote": [remote.pk, remote.budget]}
    print(json.dumps({"studies": studies, "token": issued.secret}))
