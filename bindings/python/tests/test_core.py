"""Tests of the package core: loading, version, errors, model inspection,
and the helpers of wrecoil._lib that every module builds on."""
import ctypes
import os
import pickle
import re
import struct
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest

import wrecoil
from wrecoil import _lib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PKG_PARENT = os.path.join(ROOT, "bindings", "python")


def header_version():
    with open(os.path.join(ROOT, "include", "wrecoil.h")) as f:
        return re.search(r'#define WR_VERSION_STRING "([^"]+)"', f.read()).group(1)


def make_model(kind=4, kind_version=1, payload=b"a payload", fmt_version=1):
    """A model container written from docs/format.md with zlib and struct."""
    z = zlib.compress(payload)
    head = b"\x89WRC\r\n\x1a\n" + struct.pack("<IIIIQQI", fmt_version, kind, kind_version, 0,
                                               len(payload), len(z), zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + z


def run_python(code, env_update, drop=("WRECOIL_LIBRARY",)):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_update)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


# ----------------------------------------------------------- loading, version
def test_version_matches_header():
    assert wrecoil.version() == header_version()
    major, minor, patch = (int(x) for x in header_version().split("."))
    assert wrecoil.version_number() == major * 10000 + minor * 100 + patch


def test_library_from_environment_variable():
    lib = os.path.join(ROOT, "build", "libwrecoil.so")
    if not os.path.exists(lib):
        pytest.skip("no build tree library")
    code = "import wrecoil; print(wrecoil.library_path()); print(wrecoil.version())"
    r = run_python(code, {"PYTHONPATH": PKG_PARENT, "WRECOIL_LIBRARY": os.path.dirname(lib)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == header_version()
    r = run_python("import wrecoil", {"PYTHONPATH": PKG_PARENT,
                                      "WRECOIL_LIBRARY": "/nonexistent/libwrecoil.so"})
    assert r.returncode != 0
    assert "libwrecoil not found" in r.stderr and "/nonexistent/libwrecoil.so" in r.stderr


def test_library_from_build_tree():
    if not os.path.exists(os.path.join(ROOT, "build", "libwrecoil.so")):
        pytest.skip("no build tree library")
    r = run_python("import wrecoil; print(wrecoil.library_path())", {"PYTHONPATH": PKG_PARENT})
    assert r.returncode == 0, r.stderr
    assert os.path.realpath(r.stdout.strip()).startswith(os.path.join(ROOT, "build"))


# ------------------------------------------------------------------- errors
def test_error_attributes_and_message():
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.inspect_model(b"definitely not a model")
    e = ei.value
    assert e.code == wrecoil.Status.FORMAT == 4
    assert e.status == "WR_ERR_FORMAT"
    assert "magic" in e.message and e.message == wrecoil.last_error()
    assert "WR_ERR_FORMAT" in str(e)
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.code, e2.status, e2.message) == (e.code, e.status, e.message)
    assert wrecoil.status_string(wrecoil.Status.INVALID_ARG) == "invalid argument"


def test_status_values_are_pinned():
    assert [int(s) for s in wrecoil.Status] == list(range(11))
    assert wrecoil.Error(99, "x").status == "WR_STATUS_99"


def test_last_error_is_per_thread():
    results = {}

    def fail(i):
        try:
            wrecoil.inspect_model("/nonexistent/model-%d.wrm" % i)
        except wrecoil.Error as e:
            results[i] = (e.code, e.message, wrecoil.last_error())

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        code, msg, again = results[i]
        assert code == wrecoil.Status.IO
        assert "model-%d.wrm" % i in msg and msg == again


# --------------------------------------------------------- model inspection
def test_inspect_model_written_from_the_format_spec(tmp_path):
    data = make_model(kind=2, kind_version=3, payload=bytes(range(256)) * 10)
    info = wrecoil.inspect_model(data)
    assert info == (2, "regressor", 3)
    assert wrecoil.inspect_model(bytearray(data)).kind_name == "regressor"
    path = tmp_path / "m.wrm"
    path.write_bytes(data)
    assert wrecoil.inspect_model(path) == info
    assert wrecoil.inspect_model(str(path)) == info


def test_inspect_model_corruptions(tmp_path):
    data = make_model(payload=b"x" * 300)
    for n in (0, 7, 47, 48, len(data) - 1):
        with pytest.raises(wrecoil.Error) as ei:
            wrecoil.inspect_model(data[:n])
        assert ei.value.code == wrecoil.Status.FORMAT, n
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(wrecoil.Error):
            wrecoil.inspect_model(bytes(bad))
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.inspect_model(make_model(fmt_version=2))
    assert ei.value.code == wrecoil.Status.UNSUPPORTED
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.inspect_model(tmp_path / "missing.wrm")
    assert ei.value.code == wrecoil.Status.IO and "missing.wrm" in ei.value.message


# ------------------------------------------------------------ _lib.as_array
@pytest.mark.parametrize("dtype,ctype", [(np.float32, ctypes.c_float),
                                         (np.float64, ctypes.c_double),
                                         (np.int32, ctypes.c_int32),
                                         (np.int64, ctypes.c_int64),
                                         (np.uint8, ctypes.c_uint8)])
def test_as_array_no_copy_when_right(dtype, ctype):
    a = np.arange(12, dtype=dtype).reshape(3, 4)
    b = _lib.as_array(a, dtype, ndim=2, shape=(None, 4), name="X")
    assert b is a
    p = _lib.ptr(b)
    assert ctypes.cast(p, ctypes.c_void_p).value == a.ctypes.data
    assert isinstance(p, ctypes.POINTER(ctype))
    assert p[5] == a.ravel()[5]


def test_as_array_converts_once():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = _lib.as_array(a, np.float32, ndim=2)
    assert b.dtype == np.float32 and b.flags.c_contiguous and b is not a
    np.testing.assert_array_equal(b, a)
    t = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    c = _lib.as_array(t, np.float32)
    assert c.flags.c_contiguous and np.array_equal(c, t)
    s = np.arange(10, dtype=np.float32)[::2]
    assert _lib.as_array(s, np.float32).flags.c_contiguous
    assert _lib.as_array([1, 2, 3], np.int64).dtype == np.int64
    # NaN passes through: the C library decides
    assert np.isnan(_lib.as_array([np.nan], np.float32)[0])


def test_as_array_rejects_wrong_shapes_and_values():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="X: expected 1 dimension"):
        _lib.as_array(x, np.float32, ndim=1, name="X")
    with pytest.raises(ValueError, match=r"y: expected shape \(n, 5\)"):
        _lib.as_array(x, np.float32, shape=(None, 5), name="y")
    with pytest.raises(ValueError, match="w: cannot be converted"):
        _lib.as_array(["a", "b"], np.float32, name="w")
    with pytest.raises(ValueError, match="floating-point"):
        _lib.as_array(np.array([1.5]), np.int32, name="idx")
    with pytest.raises(TypeError):
        _lib.as_array(x, np.float16)
    assert _lib.ptr(None) is None
    with pytest.raises(TypeError):
        _lib.ptr([1, 2])


# ------------------------------------------------------- _lib.fn and friends
def test_fn_declares_once():
    f1 = _lib.fn("wr_model_kind_name", ctypes.c_char_p, [ctypes.c_int])
    f2 = _lib.fn("wr_model_kind_name", ctypes.c_char_p, [ctypes.c_int])
    assert f1 is f2 and f1(1) == b"quantile_forest"
    with pytest.raises(TypeError, match="different signatures"):
        _lib.fn("wr_model_kind_name", ctypes.c_char_p, [ctypes.c_long])
    missing = _lib.fn("wr_no_such_function_for_tests", _lib.STATUS, [])
    with pytest.raises(wrecoil.Error) as ei:
        missing()
    assert ei.value.code == wrecoil.Status.UNSUPPORTED


def test_status_functions_raise_by_themselves():
    f = _lib.fn("wr_model_inspect", _lib.STATUS,
                [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int),
                 ctypes.POINTER(ctypes.c_uint32)])
    with pytest.raises(wrecoil.Error) as ei:
        f(None, 10, None, None)
    assert ei.value.code == wrecoil.Status.INVALID_ARG and "NULL" in ei.value.message


def test_strings_and_buffers(tmp_path):
    assert _lib.cstr("max_depth=6") == b"max_depth=6"
    assert _lib.cstr(None) is None
    with pytest.raises(ValueError):
        _lib.cstr("a\0b")
    with pytest.raises(TypeError):
        _lib.cstr(3)
    assert _lib.cpath(tmp_path / "x") == os.fsencode(str(tmp_path / "x"))
    assert _lib.take_buffer(ctypes.c_void_p(None), 0) == b""


def test_handle_closes_once():
    freed = []

    class Thing(_lib.Handle):
        _free_fn = staticmethod(freed.append)

        def __init__(self):
            self._set_handle(ctypes.c_void_p(1234))

        def use(self):
            return self._h

    with Thing() as t:
        assert t.use() == 1234 and not t.closed
    assert t.closed and freed == [1234]
    t.close()
    assert freed == [1234]
    with pytest.raises(wrecoil.Error, match="closed"):
        t.use()


class Forest(_lib.Handle):
    """A minimal handle class (module level, so that it pickles)."""

    def __init__(self):
        create = _lib.fn("wr_qforest_create", _lib.STATUS,
                         [_lib.f64p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p)])
        h = ctypes.c_void_p()
        create(None, 0, ctypes.byref(h))
        self._set_handle(h)


@pytest.mark.skipif(not hasattr(_lib.lib, "wr_qforest_create"), reason="no forest in this build")
def test_handle_base_on_a_real_kind(tmp_path):
    """The shared Handle machinery (free, params, bytes, files, pickling)
    on one real handle kind; module classes build on exactly this."""
    Forest._bind_c("wr_qforest")
    with Forest() as f:
        f.set_params("seed=7", max_depth=3)
        assert f.get_param("max_depth") == "3" and f.get_param("seed") == "7"
        with pytest.raises(wrecoil.Error) as ei:
            f.set_params(max_depth=3, no_such_parameter=1)
        assert ei.value.code == wrecoil.Status.INVALID_ARG
        assert "no_such_parameter" in ei.value.message
        assert f.get_param("max_depth") == "3"  # all-or-nothing
        with pytest.raises(wrecoil.Error) as ei:
            f.to_bytes()
        assert ei.value.code == wrecoil.Status.NOT_FITTED
        with pytest.raises(wrecoil.Error):
            f.save(tmp_path / "unfitted.wrm")
    assert f.closed
    with pytest.raises(wrecoil.Error, match="closed"):
        f.get_param("max_depth")
    with pytest.raises(wrecoil.Error) as ei:
        Forest.from_bytes(make_model(kind=3))
    assert ei.value.code == wrecoil.Status.WRONG_KIND
    with pytest.raises(wrecoil.Error) as ei:
        Forest.load(tmp_path / "missing.wrm")
    assert ei.value.code == wrecoil.Status.IO
    fit = _lib.fn("wr_qforest_fit", _lib.STATUS,
                  [_lib.HANDLE, _lib.f32p, ctypes.c_size_t, ctypes.c_size_t, _lib.f32p, _lib.f32p,
                   _lib.f32p, ctypes.c_size_t, _lib.f32p, _lib.f32p])
    rng = np.random.default_rng(1)
    X = _lib.as_array(rng.normal(size=(400, 2)), np.float32, ndim=2)
    y = _lib.as_array(X[:, 0] + rng.normal(size=400), np.float32, ndim=1)
    f = Forest().set_params(rounds=5, seed=3, threads=1)
    fit(f._h, _lib.ptr(X), 400, 2, _lib.ptr(y), None, None, 0, None, None)
    data = f.to_bytes()
    assert wrecoil.inspect_model(data).kind_name == "quantile_forest"
    g = pickle.loads(pickle.dumps(f))
    assert g.to_bytes() == data and g.get_param("seed") == "3"
    f.save(tmp_path / "f.wrm")
    assert Forest.load(tmp_path / "f.wrm").to_bytes() == data
    f.close()
    g.close()


def test_progress_callback_wrapper():
    seen = []
    p = _lib.progress(lambda stage, step, total, m1, m2: seen.append((stage, step, total)) or step >= 3)
    assert p.c_fn(None, b"forest.fit", 1, 10, 0.5, float("nan")) == 0
    assert p.c_fn(None, b"forest.fit", 3, 10, 0.5, 0.25) == 1
    assert seen == [("forest.fit", 1, 10), ("forest.fit", 3, 10)]

    def boom(*a):
        raise KeyError("from the callback")
    q = _lib.progress(boom)
    assert q.c_fn(None, b"x", 1, 0, 0.0, 0.0) == 1
    with pytest.raises(KeyError):
        q.reraise()
    q.reraise()  # only once


def test_pip_install(tmp_path):
    """`pip install ./bindings/python` gives an importable package (offline:
    --no-build-isolation uses the installed setuptools)."""
    import shutil
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("setuptools not installed")
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip("pip not installed")
    src = tmp_path / "src"  # a copy: setuptools writes build files into the source
    shutil.copytree(PKG_PARENT, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "build",
                                                                   "*.egg-info"))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                        "--no-deps", "--no-index", "--target", str(tmp_path / "site"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lib = os.environ.get("WRECOIL_LIBRARY") or os.path.join(ROOT, "build", "libwrecoil.so")
    r = run_python("import wrecoil; print(wrecoil.__file__); print(wrecoil.version())",
                   {"PYTHONPATH": str(tmp_path / "site"), "WRECOIL_LIBRARY": lib})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0].startswith(str(tmp_path / "site"))
    assert r.stdout.split()[1] == header_version()
