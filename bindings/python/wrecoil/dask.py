"""Scale-out with Dask: apply models and the feature computation to dask
arrays and dataframes partition by partition, fill template histograms per
partition and sum them, fit templates on the sums.

Models travel to the workers as bytes (the model container of
``to_bytes()``): one key in the task graph, sent once to each worker, and
rebuilt once per worker process (a small per-process cache keyed by the
digest of the bytes; see :func:`cache_info`).  Every function here builds a
lazy dask collection or computes with the active scheduler, so the same code
runs on a laptop (threads), on a ``distributed.LocalCluster`` or on a real
cluster (``distributed.Client("tcp://scheduler:8786")``).  The workers must
be able to ``import wrecoil`` and find libwrecoil: install both there, or
give the workers ``PYTHONPATH`` / ``WRECOIL_LIBRARY`` in their environment
(docs/python.md).

>>> import dask.array as da, wrecoil, wrecoil.dask as wd
>>> X = da.from_array(features, chunks=(100_000, 15))
>>> mean = wd.apply_regressor(reg, X, "mean")          # lazy (n,) dask array
>>> tf = wrecoil.TemplateFit(np.linspace(60, 100, 41))
>>> wd.fill_templates(tf, mt, m_gen)                    # summed into tf
>>> wd.fill_data(tf, mt_data); tf.fit(true_mass=80.385)
"""

import collections
import hashlib
import threading

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as e:  # pragma: no cover - exercised only without dask
    raise ImportError("wrecoil.dask needs dask (apt-get install python3-dask, or "
                      "pip install 'dask[array,dataframe]' distributed): %s" % e) from None

from . import _lib
from .events import FEATURE_NAMES, RECOIL_NAMES, recoil_features
from .forest import QuantileForest
from .morph import Morpher
from .regressor import Regressor, SUMMARY_COLUMNS
from .tfit import TemplateFit
from .toy import Toy, table_columns

__all__ = ["model_bytes", "apply_regressor", "apply_forest", "apply_morpher",
           "apply_regressor_df", "apply_forest_df", "apply_morpher_df", "recoil_features_df",
           "toy_table",
           "toy_features", "fill_templates", "fill_events", "fill_data", "fill_templates_df",
           "fill_data_df", "template_fit", "cache_info", "clear_cache"]

# ------------------------------------------------------ per-worker cache
_CACHE_SIZE = 4
_cache = collections.OrderedDict()
_cache_lock = threading.Lock()
_stats = {"builds": 0, "hits": 0}
_CLASSES = {"QuantileForest": QuantileForest, "Regressor": Regressor, "Morpher": Morpher,
            "TemplateFit": TemplateFit}


def _model(cls_name, data, threads=1):
    """The model of ``data`` rebuilt once per process (LRU of 4), its
    ``threads`` parameter set to ``threads`` (None: as saved)."""
    key = (cls_name, hashlib.sha1(data).digest(), threads)
    with _cache_lock:
        m = _cache.get(key)
        if m is not None:
            _cache.move_to_end(key)
            _stats["hits"] += 1
            return m
    m = _CLASSES[cls_name].from_bytes(data)
    if threads is not None:
        # a model carries the threads of its fit; on a worker, Dask's
        # threads are the parallelism: one C thread per task by default
        m.set_params(threads=int(threads))
    with _cache_lock:
        if key not in _cache:
            _stats["builds"] += 1
            _cache[key] = m
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return _cache[key]


def cache_info():
    """{"builds", "hits", "size"} of this process' model cache (run it on
    the workers with ``client.run(wrecoil.dask.cache_info)``)."""
    with _cache_lock:
        return dict(_stats, size=len(_cache))


def clear_cache():
    with _cache_lock:
        _cache.clear()
        _stats.update(builds=0, hits=0)


def model_bytes(model):
    """``(class name, bytes)`` of a model, or of bytes saved from one."""
    if isinstance(model, (QuantileForest, Regressor, Morpher, TemplateFit)):
        return type(model).__name__, model.to_bytes()
    raise TypeError("expected a QuantileForest, Regressor, Morpher or TemplateFit, got %s"
                    % type(model).__name__)


def _shipped(model):
    name, data = model_bytes(model)
    return name, dask.delayed(data, pure=True)


def _rows_only(x, ncols, name):
    """A 2-D dask array chunked along rows only."""
    x = da.asarray(x)
    if x.ndim == 1 and ncols == 1:
        x = x[:, None]
    if x.ndim != 2 or (ncols is not None and x.shape[1] != ncols):
        raise ValueError("%s: expected shape (n, %s), got %s" % (name, ncols, x.shape))
    if len(x.chunks[1]) != 1:
        x = x.rechunk({1: -1})
    return x


# ------------------------------------------------------------ regressor
_REG_METHODS = {"predict", "summary", "mean", "median", "mode", "mean_exp", "quantile", "pit",
                "pdf", "cdf"}


def _reg_block(X, t, data, cls_name, method, p, threads):
    r = _model(cls_name, data, threads)
    if method in ("pit", "pdf", "cdf"):
        return getattr(r, method)(X, t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t)
    if method == "quantile":
        return r.quantile(X, p)
    return getattr(r, method)(X)


def apply_regressor(model, X, method="predict", t=None, p=None, name=None, threads=1):
    """Applies a fitted :class:`wrecoil.Regressor` to the dask array ``X``
    (n, d) block by block (lazy).  ``method``: "predict" (n, k), "summary"
    (n, 4), "mean", "median", "mode", "mean_exp" (n,), "quantile" with
    probabilities ``p`` (scalar -> (n,), (m,) -> (n, m)), "pit" / "pdf" /
    "cdf" with the dask array ``t`` (n,) aligned with X.  float64 results,
    equal bit for bit to the same method on the whole array.  ``name``:
    the output's key name (default: a hash of the inputs; give a unique one
    to force a recomputation of the same inputs).  ``threads``: C threads
    per task on the workers (the model's own setting with None)."""
    if method not in _REG_METHODS:
        raise ValueError("method: one of %s" % ", ".join(sorted(_REG_METHODS)))
    if not model.is_fitted:
        raise _lib.Error(_lib.Status.NOT_FITTED, "apply_regressor: the regressor is not fitted")
    cls_name, data = _shipped(model)
    X = _rows_only(X, model.n_features, "X")
    n_rows = X.chunks[0]
    if method in ("pit", "pdf", "cdf"):
        if t is None:
            raise ValueError("t: needed for method %r" % method)
        t = da.asarray(t)
        if t.ndim != 1 or t.shape[0] != X.shape[0]:
            raise ValueError("t: expected shape (%d,), got %s" % (X.shape[0], t.shape))
        t = t.rechunk((n_rows,))[:, None]
    else:
        t = da.zeros((X.shape[0], 1), chunks=(n_rows, 1), dtype=np.float32)
    if method == "predict":
        chunks, drop = (n_rows, (model.n_params,)), None
    elif method == "summary":
        chunks, drop = (n_rows, (len(SUMMARY_COLUMNS),)), None
    elif method == "quantile":
        if p is None:
            raise ValueError("p: needed for method 'quantile'")
        pa = np.asarray(p, dtype=np.float64)
        if pa.ndim == 0:
            chunks, drop = (n_rows,), 1
        elif pa.ndim == 1:
            chunks, drop = (n_rows, (pa.shape[0],)), None
        else:
            raise ValueError("p: scalar or (m,) probabilities shared by all events")
    else:
        chunks, drop = (n_rows,), 1
    return da.map_blocks(_reg_block, X, t, data, cls_name, method, p, threads,
                         dtype=np.float64, chunks=chunks, drop_axis=drop,
                         meta=np.empty((0,) * len(chunks)),
                         name=name)


def _forest_block(X, data, cls_name, threads):
    return _model(cls_name, data, threads).predict(X)


def apply_forest(model, X, name=None, threads=1):
    """Quantiles of a fitted :class:`wrecoil.QuantileForest` for the dask
    array ``X`` (n, d): (n, n_levels) float32, lazy.  ``name`` as in
    :func:`apply_regressor`."""
    if not model.is_fitted:
        raise _lib.Error(_lib.Status.NOT_FITTED, "apply_forest: the forest is not fitted")
    cls_name, data = _shipped(model)
    X = _rows_only(X, model.n_features, "X")
    return da.map_blocks(_forest_block, X, data, cls_name, threads, dtype=np.float32,
                         chunks=(X.chunks[0], (model.n_levels,)), name=name)


def _morph_block(z, y, data, cls_name, return_u, threads):
    m = _model(cls_name, data, threads)
    if z.shape[1] == 0:
        z = None
    if not return_u:
        return m.apply(z, y)
    yo, u = m.apply(z, y, return_u=True)
    return np.concatenate([yo.astype(np.float64), u], axis=1)


def apply_morpher(model, z, y, return_u=False, threads=1):
    """Morphs the dask arrays ``z`` (n, k) and ``y`` (n, N) with a fitted
    :class:`wrecoil.Morpher`: y' (n, N) float32, or (y', u) with
    ``return_u`` (u float64), lazy; equal bit for bit to Morpher.apply.
    ``threads``: C threads per task (None: the model's setting)."""
    if not model.is_fitted:
        raise _lib.Error(_lib.Status.NOT_FITTED, "apply_morpher: the morpher is not fitted")
    name, data = _shipped(model)
    N, k = model.n_y, model.n_z
    y = _rows_only(y, N, "y")
    if k == 0 and z is None:
        z = da.zeros((y.shape[0], 0), chunks=(y.chunks[0], 0), dtype=np.float32)
    z = _rows_only(z, k, "z")
    if z.shape[0] != y.shape[0]:
        raise ValueError("z: %d rows, y: %d rows" % (z.shape[0], y.shape[0]))
    z = z.rechunk((y.chunks[0], z.chunks[1]))
    if not return_u:
        return da.map_blocks(_morph_block, z, y, data, name, False, threads, dtype=np.float32,
                             chunks=y.chunks)
    both = da.map_blocks(_morph_block, z, y, data, name, True, threads, dtype=np.float64,
                         chunks=(y.chunks[0], (2 * N,)))
    return both[:, :N].astype(np.float32), both[:, N:]


# ------------------------------------------------------------ dataframes
def _model_features(model, features):
    """The feature column names as a list, one per feature of the model."""
    features = list(features)
    if len(features) != model.n_features:
        raise ValueError("features: %d columns for a model of %d features"
                         % (len(features), model.n_features))
    return features


def _reg_part(df, data, cls_name, features, method, out, p, threads):
    r = _model(cls_name, data, threads)
    X = df[list(features)].to_numpy(np.float32)
    if method == "quantile":
        v = r.quantile(X, p)
    else:
        v = getattr(r, method)(X)
    v = v.reshape(len(df), -1)
    res = df.copy()
    for j, c in enumerate(out):
        res[c] = v[:, j]
    return res


def apply_regressor_df(model, df, features, method="mean", out=None, p=None, threads=1):
    """Adds the regressor's ``method`` ("mean", "median", "mode",
    "mean_exp", "predict", "summary", "quantile" with ``p``) of the
    ``features`` columns of the dask DataFrame ``df`` as new columns
    ``out`` (default: the method name, or method_0.. for several values).
    Lazy; one task per partition."""
    import pandas as pd
    if method not in _REG_METHODS - {"pit", "pdf", "cdf"}:
        raise ValueError("method: one of mean, median, mode, mean_exp, predict, summary, quantile")
    if not model.is_fitted:
        raise _lib.Error(_lib.Status.NOT_FITTED, "apply_regressor_df: the regressor is not fitted")
    features = _model_features(model, features)
    width = {"predict": model.n_params, "summary": len(SUMMARY_COLUMNS),
             "quantile": np.size(p) if p is not None else 0}.get(method, 1)
    if method == "quantile" and p is None:
        raise ValueError("p: needed for method 'quantile'")
    if out is None:
        out = [method] if width == 1 else ["%s_%d" % (method, j) for j in range(width)]
    elif isinstance(out, str):
        out = [out]
    out = list(out)
    if len(out) != width:
        raise ValueError("out: %d names for %d values per row" % (len(out), width))
    name, data = _shipped(model)
    meta = df._meta.copy()
    for c in out:
        meta[c] = pd.Series([], dtype=np.float64)
    return df.map_partitions(_reg_part, data, name, features, method, out, p, threads, meta=meta)


def _forest_part(df, data, cls_name, features, out, threads):
    q = _model(cls_name, data, threads).predict(df[list(features)].to_numpy(np.float32))
    res = df.copy()
    for j, c in enumerate(out):
        res[c] = q[:, j]
    return res


def apply_forest_df(model, df, features, out=None, threads=1):
    """Adds the quantiles of a fitted :class:`wrecoil.QuantileForest` of
    the ``features`` columns of the dask DataFrame ``df`` as the float32
    columns ``out`` (default "q<level>", e.g. "q0.5").  Lazy."""
    import pandas as pd
    if not model.is_fitted:
        raise _lib.Error(_lib.Status.NOT_FITTED, "apply_forest_df: the forest is not fitted")
    features = _model_features(model, features)
    out = ["q%g" % lv for lv in model.levels] if out is None else list(out)
    if len(out) != model.n_levels:
        raise ValueError("out: %d names for %d levels" % (len(out), model.n_levels))
    name, data = _shipped(model)
    meta = df._meta.copy()
    for c in out:
        meta[c] = pd.Series([], dtype=np.float32)
    return df.map_partitions(_forest_part, data, name, features, out, threads, meta=meta)


def _morph_part(df, data, cls_name, zcols, ycols, out, threads):
    m = _model(cls_name, data, threads)
    z = df[list(zcols)].to_numpy(np.float32) if zcols else None
    y = df[list(ycols)].to_numpy(np.float32)
    yo = m.apply(z, y)
    res = df.copy()
    for j, c in enumerate(out):
        res[c] = yo[:, j]
    return res


def apply_morpher_df(model, df, z, y, out=None, threads=1):
    """Morphs the ``y`` columns of the dask DataFrame ``df`` given the ``z``
    columns; the morphed values go to the columns ``out`` (default
    "<y>_morphed"; pass ``out=y`` to overwrite).  Lazy."""
    import pandas as pd
    if not model.is_fitted:
        raise _lib.Error(_lib.Status.NOT_FITTED, "apply_morpher_df: the morpher is not fitted")
    z, y = list(z), list(y)
    if len(y) != model.n_y or len(z) != model.n_z:
        raise ValueError("y/z: %d/%d columns for a morpher of n_y=%d, n_z=%d"
                         % (len(y), len(z), model.n_y, model.n_z))
    out = [c + "_morphed" for c in y] if out is None else list(out)
    if len(out) != len(y):
        raise ValueError("out: %d names for %d morphed columns" % (len(out), len(y)))
    name, data = _shipped(model)
    meta = df._meta.copy()
    for c in out:
        meta[c] = pd.Series([], dtype=np.float32)
    return df.map_partitions(_morph_part, data, name, z, y, out, threads, meta=meta)


def _features_part(df, event, htrue, nthreads):
    import pandas as pd
    ev = df.index.to_numpy() if event is None else df[event].to_numpy()
    n = ev.shape[0]
    if n:
        starts = np.flatnonzero(np.r_[True, ev[1:] != ev[:-1]])
        if np.unique(ev[starts]).shape[0] != starts.shape[0]:
            raise ValueError("recoil_features_df: the particles of an event must be "
                             "consecutive within a partition")
    else:
        starts = np.zeros(0, np.int64)
    offsets = np.r_[starts, n].astype(np.int64)
    ht = None
    if htrue is not None:
        ht = df[list(htrue)].to_numpy(np.float32)[starts]
    r = recoil_features(offsets, df["pt"].to_numpy(np.float32), df["eta"].to_numpy(np.float32),
                        df["phi"].to_numpy(np.float32), df["charge"].to_numpy(np.int32),
                        df["vtx"].to_numpy(np.int32), htrue=ht, nthreads=nthreads)
    cols = {c: r.features[:, j] for j, c in enumerate(FEATURE_NAMES)}
    cols.update({c: r.recoils[:, j] for j, c in enumerate(RECOIL_NAMES)})
    cols["no_tk"] = r.no_tk
    if r.targets is not None:
        cols["ln_e1"], cols["e2"] = r.targets[:, 0], r.targets[:, 1]
    return pd.DataFrame(cols, index=pd.Index(ev[starts], name=event or df.index.name or "ev"))


def recoil_features_df(particles, event="ev", htrue=None, nthreads=1):
    """The recoil features of a particle-level dask DataFrame (columns pt,
    eta, phi, charge, vtx and the event id ``event``; ``event=None``: the
    index holds the event id).  Each partition must hold whole events, their
    particles consecutive (e.g. ``dd.from_pandas(df.set_index("ev"),
    npartitions=k)`` or ``ddf.set_index("ev")``); events without particles
    do not appear.  ``htrue``: the two columns (x, y) of the true recoil
    repeated on the event's rows, for the targets.  Returns a dask
    DataFrame indexed by event: the 15 features, the 8 recoil components,
    no_tk (and ln_e1, e2).  ``nthreads``: C threads per task."""
    import pandas as pd
    cols = {c: pd.Series([], dtype=np.float32) for c in FEATURE_NAMES + RECOIL_NAMES}
    cols["no_tk"] = pd.Series([], dtype=bool)
    if htrue is not None:
        htrue = list(htrue)
        cols["ln_e1"] = pd.Series([], dtype=np.float32)
        cols["e2"] = pd.Series([], dtype=np.float32)
    idx_dtype = particles.index.dtype if event is None else particles._meta[event].dtype
    meta = pd.DataFrame(cols, index=pd.Index([], dtype=idx_dtype,
                                             name=event or particles.index.name or "ev"))
    res = particles.map_partitions(_features_part, event, htrue, int(nthreads), meta=meta)
    return res if event is None else res.clear_divisions()


# ------------------------------------------------------------------ toy
def _chunks(n, chunk):
    n, chunk = int(n), int(chunk)
    if n < 0 or chunk < 1:
        raise ValueError("n >= 0 and chunk >= 1 required")
    c = [chunk] * (n // chunk)
    if n % chunk:
        c.append(n % chunk)
    return tuple(c)


def _toy_table_block(toy, seed, first, n, nthreads):
    return toy.table(seed=seed, n=n, first=first, nthreads=nthreads)


def _toy_features_block(toy, seed, first, n, nthreads, with_targets):
    p = toy.particles(seed=seed, n=n, first=first, nthreads=nthreads)
    r = recoil_features(p, htrue=p.truth[:, -2:] if with_targets else None, nthreads=nthreads)
    if with_targets:
        return np.concatenate([r.features, r.targets], axis=1)
    return r.features


def _toy_blocks(fn, toy, n, seed, first, chunk, ncols, dtype, nthreads, *extra):
    if not isinstance(toy, Toy):
        raise TypeError("toy: expected a wrecoil.Toy")
    # The toy (its process and knobs, ~1 kB pickled) is embedded in every
    # task rather than made one key: the tasks then have no dependency and
    # the scheduler spreads them over all workers from the start.
    toy_d = toy
    blocks = []
    start = int(first)
    for c in _chunks(n, chunk):
        d = dask.delayed(fn, pure=True)(toy_d, int(seed), start, c, int(nthreads), *extra)
        blocks.append(da.from_delayed(d, shape=(c, ncols), dtype=dtype))
        start += c
    if not blocks:
        return da.zeros((0, ncols), dtype=dtype)
    return da.concatenate(blocks, axis=0)


def toy_table(toy, n, seed=1, first=0, chunk=100_000, nthreads=1):
    """Events [first, first + n) of the :class:`wrecoil.Toy` as a lazy dask
    array (n, 41) float64 generated on the workers, ``chunk`` events a
    block; the same events as ``toy.table`` in one process (bit for bit)."""
    return _toy_blocks(_toy_table_block, toy, n, seed, first, chunk, len(table_columns()),
                       np.float64, nthreads)


def toy_features(toy, n, seed=1, first=0, chunk=100_000, nthreads=1, targets=False):
    """Particle-level toy events turned into features on the workers: a lazy
    (n, 15) float32 dask array (n, 17 with the targets ln_e1, e2)."""
    return _toy_blocks(_toy_features_block, toy, n, seed, first, chunk,
                       len(FEATURE_NAMES) + (2 if targets else 0), np.float32, nthreads,
                       bool(targets))


# ------------------------------------------------------------ templates
def _fill_part(empty, what, set_, x, m, w, ids, w_data=None):
    tf = TemplateFit.from_bytes(empty)
    if x.ndim == 2 and x.shape[1] == 1 and tf.dim == 1:
        x = x[:, 0]
    if what == "templates":
        tf.add_templates(x, m, w, ids)
    elif what == "events":
        tf.add_events(x, m, w, ids, w_data)
    else:
        tf.add_data(x, w, ids, set=set_)
    return tf.to_bytes()


def _merge_parts(parts):
    tf = TemplateFit.from_bytes(parts[0])
    for p in parts[1:]:
        tf.merge(p)
    return tf.to_bytes()


def _tree(parts, split_every):
    parts = list(parts)
    while len(parts) > 1:
        parts = [dask.delayed(_merge_parts, pure=True)(parts[i:i + split_every])
                 for i in range(0, len(parts), split_every)]
    return parts[0]


def _blocks_of(arrays, names):
    """Aligned row blocks (lists of delayed) of 1-D/2-D dask or numpy arrays
    (None passes through)."""
    ref = None
    for a in arrays:
        if a is not None:
            ref = da.asarray(a)
            break
    if ref.ndim == 2 and len(ref.chunks[1]) != 1:
        ref = ref.rechunk({1: -1})
    if any(np.isnan(c) for c in ref.chunks[0]):
        ref = ref.compute_chunk_sizes()
    rows = ref.chunks[0]
    out = []
    for a, name in zip(arrays, names):
        if a is None:
            out.append([None] * len(rows))
            continue
        a = da.asarray(a)
        if a.shape[0] != ref.shape[0]:
            raise ValueError("%s: %d rows, expected %d" % (name, a.shape[0], ref.shape[0]))
        if a.ndim == 2 and len(a.chunks[1]) != 1:
            a = a.rechunk({1: -1})
        if a.chunks[0] != rows:
            a = a.rechunk({0: rows})
        out.append(list(a.to_delayed().ravel()))
    return out


def _fill(tfit, what, x, m_gen, w, ids, set_, split_every, compute, w_data=None):
    if not isinstance(tfit, TemplateFit):
        raise TypeError("tfit: expected a wrecoil.TemplateFit")
    empty = tfit.empty_copy()
    empty_d = dask.delayed(empty.to_bytes(), pure=True)
    empty.close()
    blocks = _blocks_of([x, m_gen, w, ids, w_data], ["x", "m_gen", "w", "ids", "w_data"])
    parts = [dask.delayed(_fill_part, pure=True)(empty_d, what, int(set_), *blk)
             for blk in zip(*blocks)]
    if not parts:
        parts = [empty_d]
    total = _tree(parts, int(split_every))
    if not compute:
        return total
    (data,) = dask.compute(total)
    tfit.merge(data)
    return tfit


def fill_templates(tfit, x, m_gen, w=None, ids=None, split_every=8, compute=True):
    """Fills the templates of ``tfit`` from dask (or numpy) arrays, one
    empty copy of ``tfit`` per block on the workers; the partial histograms
    are summed in a tree (``split_every``) and merged into ``tfit``, which
    is returned.  ``x`` (n,) or (n, dim), ``m_gen``, ``w``, ``ids`` (n,).
    Equal to ``tfit.add_templates`` on the whole sample up to the order of
    the floating-point sums (bootstrap replicas included: their weights
    depend on the event ids only).  ``compute=False`` returns the delayed
    bytes of the summed histograms instead."""
    return _fill(tfit, "templates", x, m_gen, w, ids, 0, split_every, compute)


def fill_events(tfit, x, m_gen, w=None, ids=None, w_data=None, split_every=8, compute=True):
    """:meth:`TemplateFit.add_events` per block: the templates and, with
    ``w_data`` (n, k), data sets 0..k-1 filled from the same events in one
    pass; summed and merged into ``tfit`` as :func:`fill_templates`."""
    return _fill(tfit, "events", x, m_gen, w, ids, 0, split_every, compute, w_data)


def fill_data(tfit, x, w=None, ids=None, set=0, split_every=8, compute=True):
    """Same as :func:`fill_templates` for the pseudo-data set ``set``."""
    return _fill(tfit, "data", x, None, w, ids, set, split_every, compute)


def _df_cols(df, cols):
    if cols is None:
        return None
    if isinstance(cols, str):
        return df[cols].to_dask_array(lengths=True)
    return df[list(cols)].to_dask_array(lengths=True)


def fill_templates_df(tfit, df, x, m_gen, w=None, ids=None, **kw):
    """:func:`fill_templates` from the columns of a dask DataFrame
    (``x``: a column name or a list of dim names)."""
    lengths = df.map_partitions(len).compute()
    arrs = []
    for c in (x, m_gen, w, ids):
        if c is None:
            arrs.append(None)
        else:
            a = df[c if isinstance(c, str) else list(c)].to_dask_array(lengths=tuple(lengths))
            arrs.append(a)
    return fill_templates(tfit, *arrs, **kw)


def fill_data_df(tfit, df, x, w=None, ids=None, set=0, **kw):
    """:func:`fill_data` from the columns of a dask DataFrame."""
    lengths = tuple(df.map_partitions(len).compute())
    arrs = [None if c is None else
            df[c if isinstance(c, str) else list(c)].to_dask_array(lengths=lengths)
            for c in (x, w, ids)]
    return fill_data(tfit, *arrs, set=set, **kw)


def template_fit(tfit, templates, data, true_mass=float("nan"), set=0, bootstrap=False):
    """Fills ``tfit`` with ``templates = (x, m_gen[, w[, ids]])`` and
    ``data = (x[, w[, ids]])`` (dask or numpy arrays; in one graph) and
    fits data set ``set``: returns the FitResult, and with
    ``bootstrap=True`` (FitResult, BootstrapResult)."""
    t = tuple(templates) + (None,) * (4 - len(templates))
    d = tuple(data) + (None,) * (3 - len(data))
    tot_t = _fill(tfit, "templates", t[0], t[1], t[2], t[3], 0, 8, False)
    tot_d = _fill(tfit, "data", d[0], None, d[1], d[2], set, 8, False)
    bt, bd = dask.compute(tot_t, tot_d)
    tfit.merge(bt)
    tfit.merge(bd)
    res = tfit.fit(set=set, true_mass=true_mass)
    if bootstrap:
        return res, tfit.bootstrap(set=set, true_mass=true_mass)
    return res
