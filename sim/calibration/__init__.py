"""Calibration: ABC-SMC fits of a scenario's uncertain parameters to observed figures.

:mod:`.spec` reads and checks the calibration file, :mod:`.abc_smc` is the algorithm,
:mod:`.run` runs its populations on the work engine (resumable), :mod:`.outputs` writes the
calibration folder.
"""

from sim.calibration.spec import (
    CalibrationSpec,
    LoadedCalibration,
    load_calibration,
    looks_like_calibration,
)

__all__ = ["CalibrationSpec", "LoadedCalibration", "load_calibration", "looks_like_calibration"]
