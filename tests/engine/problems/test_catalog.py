"""The benchmark catalogue: keys, sizes, input checks and true hypervolumes against hand values."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from search_engine.errors import ConfigError
from search_engine.problems.catalog import BENCHMARKS, true_hypervolume


def test_catalogue_holds_zdt1_to_3_dtlz1_to_7_and_the_constrained_problems() -> None:
    expected = ["zdt1", "zdt2", "zdt3"] + [f"dtlz{i}" for i in range(1, 8)]
    expected += ["bnh", "tnk", "srn", "osy", "c1dtlz1", "c2dtlz2"]
    assert list(BENCHMARKS) == expected
    for key, problem in BENCHMARKS.items():
        assert problem.key == key
        assert problem.n_obj == 2
        assert problem.label.upper().replace("-", "").startswith(key.upper())


@pytest.mark.parametrize("key", [key for key, problem in BENCHMARKS.items() if not problem.constraint_names])
def test_every_problem_maps_the_unit_cube_to_finite_values(rng: np.random.Generator, key: str) -> None:
    problem = BENCHMARKS[key]
    F = problem.evaluate(rng.random((7, problem.n_var)))
    assert F.shape == (7, 2)
    assert np.all(np.isfinite(F))
    assert np.all(F >= -1.0)  # ZDT3's f2 dips below zero, nothing goes below -1


def test_zdt_takes_exactly_two_objectives_and_two_variables() -> None:
    with pytest.raises(ConfigError) as error:
        BENCHMARKS["zdt1"].with_size(6, 3)
    assert error.value.field == "n_obj"
    with pytest.raises(ConfigError) as error:
        BENCHMARKS["zdt2"].with_size(1, 2)
    assert error.value.field == "n_var"
    assert BENCHMARKS["zdt3"].with_size(2, 2).n_var == 2


def test_dtlz_needs_at_least_as_many_variables_as_objectives() -> None:
    with pytest.raises(ConfigError) as error:
        BENCHMARKS["dtlz2"].with_size(3, 4)
    assert error.value.field == "n_var"
    assert "at least 4 variables" in error.value.message
    problem = BENCHMARKS["dtlz2"].with_size(4, 4)
    assert problem.evaluate(np.full((1, 4), 0.5)).shape == (1, 4)


def test_dtlz5_and_dtlz6_stop_at_three_objectives() -> None:
    for key in ("dtlz5", "dtlz6"):
        assert BENCHMARKS[key].with_size(6, 3).n_obj == 3
        with pytest.raises(ConfigError) as error:
            BENCHMARKS[key].with_size(8, 4)
        assert error.value.field == "n_obj"
    assert BENCHMARKS["dtlz7"].with_size(8, 5).n_obj == 5
    with pytest.raises(ConfigError):
        BENCHMARKS["dtlz1"].with_size(8, 6)


def test_evaluate_rejects_wrong_shapes_and_points_outside_the_cube() -> None:
    problem = BENCHMARKS["zdt1"].with_size(3, 2)
    with pytest.raises(ValueError, match="shape"):
        problem.evaluate(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        problem.evaluate(np.array([[0.5, 1.5, 0.0]]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        problem.evaluate(np.array([[np.nan, 0.5, 0.0]]))
    assert problem.evaluate(np.zeros((0, 3))).shape == (0, 2)


def test_zdt1_true_hypervolume_is_just_below_the_hand_value() -> None:
    # Dominated area inside [0, 1.1]^2: integral_0^1 (1.1 - (1 - sqrt f)) df + 0.1 * 1.1 = 1.21 - 1/3.
    exact = 1.21 - 1.0 / 3.0
    hv = true_hypervolume(BENCHMARKS["zdt1"], [1.1, 1.1])
    assert exact - 2e-4 < hv < exact


def test_true_hypervolume_agrees_with_pymoos_indicator() -> None:
    from pymoo.indicators.hv import HV

    for key in ("zdt2", "zdt3", "dtlz7"):
        problem = BENCHMARKS[key]
        ref = np.array([1.2, 4.5] if key == "dtlz7" else [1.1, 1.1])
        expected = HV(ref_point=ref)(problem.true_front())
        assert true_hypervolume(problem, ref) == pytest.approx(expected, rel=1e-9)


def test_dtlz_true_hypervolumes_against_hand_values() -> None:
    # DTLZ1, 2 objectives, ref (1, 1): the unit square minus the triangle under f1 + f2 = 0.5.
    assert true_hypervolume(BENCHMARKS["dtlz1"], [1.0, 1.0]) == pytest.approx(1.0 - 0.125, abs=1e-4)
    # DTLZ2, 3 objectives, ref (1.1, 1.1, 1.1): the cube minus one eighth of the unit ball; the
    # lattice sample lies below the exact value by about a percent.
    exact = 1.1**3 - math.pi / 6.0
    hv = true_hypervolume(BENCHMARKS["dtlz2"].with_size(7, 3), [1.1, 1.1, 1.1])
    assert exact - 0.015 < hv < exact


def test_true_hypervolume_checks_the_reference_point_length() -> None:
    with pytest.raises(ValueError, match="2 values"):
        true_hypervolume(BENCHMARKS["zdt1"], [1.1, 1.1, 1.1])


def test_importing_the_catalogue_does_not_load_pymoo() -> None:
    code = "import sys, search_engine.problems.catalog; print('pymoo' in sys.modules)"
    root = Path(__file__).resolve().parents[3]
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert output.stdout.strip() == "False"
