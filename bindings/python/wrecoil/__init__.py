"""wrecoil -- Python bindings of libwrecoil (ctypes + numpy).

libwrecoil brings the machine-learning methods of the LHC W-boson mass
analysis to C, C++ and Python: recoil features, a toy simulation,
multi-quantile boosted trees, semi-parametric regression, quantile morphing
and template fits.  This package loads the C library (see ``wrecoil._lib``
for how it is found: ``$WRECOIL_LIBRARY``, the build tree, the system) and
raises :class:`Error` when a C call fails.

Modules (the main names are re-exported here):

- ``wrecoil.events``: ``recoil_features``, kinematics (``transverse_mass``,
  ``wlike_z``, ``boson_from_leptons``, ``recoil_y``, ``wrap_angle``) and
  CSV(.gz) tables (``read_table``, ``write_table``, ``TableReader``,
  ``TableWriter``);
- ``wrecoil.toy``: ``Toy``, the W/Z toy simulation;
- ``wrecoil.forest``: ``QuantileForest``; ``wrecoil.regressor``:
  ``Regressor`` and the ``pdf_*`` functions; ``wrecoil.morph``:
  ``Morpher``; ``wrecoil.tfit``: ``TemplateFit``;
- ``wrecoil.plots``: PNG figures (needs matplotlib);
- ``wrecoil.dask``: scale-out with Dask (needs dask, distributed);
- ``wrecoil.diagnostics``: two-sample tests (needs scikit-learn).

Every model pickles (through its bytes), saves and loads, and is a context
manager; docs/python.md has the conventions.

>>> import wrecoil
>>> wrecoil.version()          # version of the loaded C library
'0.2.0'
"""

import collections
import ctypes
import os

from . import _lib
from ._lib import Error, Status, last_error, library_path, version

__version__ = "0.2.0"

__all__ = ["Error", "Status", "ModelInfo", "inspect_model", "last_error",
           "library_path", "version", "version_number", "__version__",
           # models
           "QuantileForest", "Regressor", "Morpher", "TemplateFit", "Toy",
           # events
           "FEATURE_NAMES", "RECOIL_NAMES", "recoil_features", "wrap_angle",
           "transverse_mass", "wlike_z", "boson_from_leptons", "recoil_y",
           "read_table", "write_table", "TableReader", "TableWriter", "Particles",
           # pdfs
           "pdf_density", "pdf_log_density", "pdf_cdf", "pdf_quantile", "pdf_summary",
           "pdf_nll", "pdf_mixture_cdf", "pdf_n_params", "load_model"]

_model_inspect = _lib.fn("wr_model_inspect", _lib.STATUS,
                         [_lib.c_void_p, _lib.c_size_t, _lib.POINTER(_lib.c_int),
                          _lib.POINTER(_lib.c_uint32)])
_model_inspect_file = _lib.fn("wr_model_inspect_file", _lib.STATUS,
                              [_lib.c_char_p, _lib.POINTER(_lib.c_int),
                               _lib.POINTER(_lib.c_uint32)])
_model_kind_name = _lib.fn("wr_model_kind_name", _lib.c_char_p, [_lib.c_int])
_status_string = _lib.fn("wr_status_string", _lib.c_char_p, [_lib.c_int])


def version_number():
    """Runtime version as MAJOR*10000 + MINOR*100 + PATCH."""
    return int(_lib._version_number())


def status_string(code):
    """English name of a status code, from the C library."""
    return _status_string(int(code)).decode()


#: What :func:`inspect_model` reports about a model file or buffer.
ModelInfo = collections.namedtuple("ModelInfo", "kind kind_name kind_version")


def inspect_model(model):
    """Kind and payload version of a saved model, after a full integrity
    check (magic, versions, sizes, CRCs) and without loading it.

    ``model``: ``bytes``-like (e.g. from ``to_bytes()``) or a file path.
    Raises :class:`Error` (``WR_ERR_FORMAT``, ``WR_ERR_UNSUPPORTED``,
    ``WR_ERR_IO``) for anything that is not an intact model.
    """
    kind = _lib.c_int(0)
    kv = _lib.c_uint32(0)
    if isinstance(model, (str, os.PathLike)):
        _model_inspect_file(_lib.cpath(model), ctypes.byref(kind), ctypes.byref(kv))
    else:
        # bytes are passed without a copy; other buffers are copied once
        data = model if isinstance(model, bytes) else memoryview(model).cast("B").tobytes()
        _model_inspect(data, len(data), ctypes.byref(kind), ctypes.byref(kv))
    return ModelInfo(kind.value, _model_kind_name(kind.value).decode(), kv.value)


# ------------------------------------------------------------ the modules
from .events import (FEATURE_NAMES, RECOIL_NAMES, TableReader, TableWriter,  # noqa: E402
                     boson_from_leptons, read_table, recoil_features, recoil_y,
                     transverse_mass, wlike_z, wrap_angle, write_table)
from .toy import Particles, Toy  # noqa: E402
from .forest import QuantileForest  # noqa: E402
from .regressor import (Regressor, pdf_cdf, pdf_density, pdf_log_density,  # noqa: E402
                        pdf_mixture_cdf, pdf_n_params, pdf_nll, pdf_quantile, pdf_summary)
from .morph import Morpher  # noqa: E402
from .tfit import TemplateFit  # noqa: E402

_KIND_CLASSES = {1: QuantileForest, 2: Regressor, 3: Morpher, 4: TemplateFit}


def load_model(model):
    """Loads any saved model (file path or bytes) into the object of its
    kind (QuantileForest, Regressor, Morpher or TemplateFit)."""
    info = inspect_model(model)
    try:
        cls = _KIND_CLASSES[info.kind]
    except KeyError:
        raise Error(Status.UNSUPPORTED, "no Python class for model kind %d (%s)"
                    % (info.kind, info.kind_name)) from None
    if isinstance(model, (str, os.PathLike)):
        return cls.load(model)
    return cls.from_bytes(model)
