"""Shared type aliases."""

from __future__ import annotations

from os import PathLike
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

PathLikeStr: TypeAlias = str | PathLike[str]
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
JSONDict: TypeAlias = dict[str, Any]
