"""The prepared workspace kept on disk: big zones' pieces, boundary chunks, overlap facts.

Preparing a workspace for a pack (:func:`geoplan.engine.prepare_rules`) cuts
its big polygons into pieces, splits big features' boundaries into chunks
and tests whether a layer's features overlap: about 5 s on the benchmark
county, paid again by every new process (each ``geoplan check`` on the
command line, each new notebook). With a cache folder
(``open_workspace(..., cache=True)``, ``geoplan check --cache``) those
results are written there once and read back by later runs.

* **Keyed by content, never stale.** Each constraint (a layer with a
  filter) is one file named after its layer, a digest of its filter and the
  SHA-256 of its geometries as the check sees them (after filters, repairs
  and reprojection, as WKB) together with the versions of the cache format,
  shapely and GEOS and the cutting parameters. Changed data, a changed
  filter, another CRS or a new GEOS is another key: the old file is not
  read, and is replaced by the new one.
* **The same answers.** The pieces and chunks are read back from WKB with
  the same coordinates, in the same order, so every measure and every
  finding is byte-identical to a run without the cache (tested).
* **Safe to delete.** The folder holds nothing else; deleting it (or any
  file in it) costs only the next run's preparing. A file that cannot be
  read (cut short, from another version) is ignored and written again; a
  folder that cannot be written is warned about once and the check goes on
  without it. Files are written to a temporary name and renamed, so a
  reader never sees half a file. No pickle: the files are NumPy ``.npz``
  archives of numbers and WKB, read with ``allow_pickle=False``.

Layers read from a database are not kept: their rows depend on the batch's
box (see :func:`geoplan.open_workspace`'s ``extent``), so each batch would
add a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..errors import GeoplanWarning

__all__ = ["FORMAT", "PersistedState", "cache_file", "content_key",
           "load_state", "save_state"]

FORMAT = 1
"""Version of the files' layout; a new one makes every older file a miss."""

_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by geoplan.\n"
        "# It holds prepared workspace pieces that geoplan rebuilds when missing.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")


def _packed(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one buffer and their offsets (``len(items) + 1`` of them)."""
    off = np.zeros(len(items) + 1, dtype=np.int64)
    if items:
        np.cumsum([len(b) for b in items], out=off[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8), off


def _unpacked(buf: np.ndarray, off: np.ndarray) -> list[bytes]:
    raw = buf.tobytes()
    return [raw[a:b] for a, b in itertools.pairwise(off.tolist())]


def _wkb(geoms: np.ndarray) -> list[bytes]:
    out = shapely.to_wkb(np.asarray(geoms, dtype=object), output_dimension=3)
    return [b"" if w is None else bytes(w) for w in out.tolist()]


def content_key(geoms: np.ndarray, family: str, parameters: str = "") -> str:
    """The SHA-256 (hex) of a constraint's geometries and of what its prepared state depends on.

    Parameters
    ----------
    geoms
        The constraint's geometries, in order.
    family
        Their geometry family (``polygon``, ``line``, ``point``).
    parameters
        What else the prepared state depends on (the cutting parameters).

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = content_key(np.array([shapely.box(0, 0, 1, 1)]), "polygon")
    >>> b = content_key(np.array([shapely.box(0, 0, 1, 2)]), "polygon")
    >>> len(a), a == b
    (64, False)
    """
    h = hashlib.sha256()
    h.update(f"geoplan-prepared/{FORMAT}/shapely {shapely.__version__}/GEOS "
             f"{shapely.geos_version_string}/{parameters}/{family}/{len(geoms)}\n".encode())
    buf, off = _packed(_wkb(geoms))
    h.update(off.tobytes())
    h.update(buf.tobytes())
    return h.hexdigest()


def cache_file(folder: Path, layer: str, where: str, key: str) -> Path:
    """The file of a constraint: ``<layer>-<filter digest>-<content key>.npz``."""
    safe = re.sub(r"[^A-Za-z0-9_]+", "_", layer)[:40] or "layer"
    slot = hashlib.sha256(where.encode()).hexdigest()[:8]
    return folder / f"{safe}-{slot}-{key[:32]}.npz"


class PersistedState:
    """What a file holds for one constraint (any part may be unknown).

    Attributes
    ----------
    partition : bool or None
        :attr:`Constraint.is_partition`, if it was worked out.
    spatial : bool or None
        Whether the layer has big features (``None``: not worked out).
    chunks, owner : numpy.ndarray or None
        Big features' boundary chunks and the feature of each.
    cuts : dict
        Per big polygon fully cut: ``(keys, pieces, whole)``.
    """

    def __init__(self) -> None:
        self.partition: bool | None = None
        self.spatial: bool | None = None
        self.chunks: np.ndarray | None = None
        self.owner: np.ndarray | None = None
        self.cuts: dict[int, tuple[list[bytes], np.ndarray, bool]] = {}

    def signature(self) -> tuple[Any, ...]:
        """What is known, to tell whether a run added to it."""
        return (self.partition, self.spatial, tuple(sorted(self.cuts)))


def _warn(zh: str, en: str, path: Path, exc: BaseException) -> None:
    warnings.warn(f"{path}: {zh}，本次检查不使用它继续进行（预处理缓存只为省时间；可删除该文件或"
                  f"文件夹，或不加 --cache）/ {en} ({type(exc).__name__}: {exc}); the check goes "
                  "on without it (the prepared-workspace cache only saves time; delete the file "
                  "or the folder, or check without --cache)", GeoplanWarning, stacklevel=3)


def load_state(path: Path, key: str, n: int) -> PersistedState | None:
    """Read a constraint's file; ``None`` when it is missing, another key or unreadable.

    Parameters
    ----------
    path
        The file (:func:`cache_file`).
    key
        The constraint's :func:`content_key`: the file must hold the same.
    n
        The constraint's features.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        if int(a["format"]) != FORMAT or str(a["key"]) != key or int(a["n"]) != n:
            return None
        st = PersistedState()
        p, s = int(a["partition"]), int(a["spatial"])
        st.partition = None if p < 0 else bool(p)
        st.spatial = None if s < 0 else bool(s)
        if st.spatial:
            st.chunks = np.asarray(shapely.from_wkb(np.array(
                _unpacked(a["chunk_wkb"], a["chunk_off"]), dtype=object)), dtype=object)
            st.owner = a["chunk_owner"].astype(np.int64)
            if len(st.owner) != len(st.chunks):
                raise ValueError("chunks and owners differ in number")
        pieces = np.asarray(shapely.from_wkb(np.array(
            _unpacked(a["piece_wkb"], a["piece_off"]), dtype=object)), dtype=object)
        pkeys = _unpacked(a["pkey_bytes"], a["pkey_off"])
        counts = a["cut_count"].astype(np.int64)
        if len(pkeys) != len(pieces) or int(counts.sum()) != len(pieces):
            raise ValueError("pieces and their keys differ in number")
        starts = np.cumsum(counts) - counts
        for f, whole, s0, m in zip(a["cut_feat"].tolist(), a["cut_whole"].tolist(),
                                   starts.tolist(), counts.tolist(), strict=True):
            st.cuts[int(f)] = (pkeys[s0:s0 + m], pieces[s0:s0 + m], bool(whole))
        return st
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
            shapely.errors.GEOSException) as exc:
        _warn("无法作为预处理缓存文件读取，已忽略",
              "cannot be read as a prepared-workspace file and is ignored", path, exc)
        return None


def save_state(path: Path, key: str, n: int, st: PersistedState) -> bool:
    """Write a constraint's file whole (a temporary file renamed), and drop its older versions.

    Returns
    -------
    bool
        Whether it was written (a folder that cannot be written is warned about).
    """
    piece_items: list[bytes] = []
    key_items: list[bytes] = []
    feats, wholes, counts = [], [], []
    for f in sorted(st.cuts):
        keys, pieces, whole = st.cuts[f]
        feats.append(f)
        wholes.append(whole)
        counts.append(len(pieces))
        piece_items += _wkb(pieces)
        key_items += list(keys)
    pw, po = _packed(piece_items)
    kb, ko = _packed(key_items)
    cw, co = _packed(_wkb(st.chunks) if st.chunks is not None else [])
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT), "key": np.array(key), "n": np.array(n),
        "partition": np.array(-1 if st.partition is None else int(st.partition), dtype=np.int8),
        "spatial": np.array(-1 if st.spatial is None else int(st.spatial), dtype=np.int8),
        "chunk_wkb": cw, "chunk_off": co,
        "chunk_owner": (st.owner if st.owner is not None else np.zeros(0)).astype(np.int64),
        "cut_feat": np.array(feats, dtype=np.int64), "cut_whole": np.array(wholes, dtype=bool),
        "cut_count": np.array(counts, dtype=np.int64),
        "piece_wkb": pw, "piece_off": po, "pkey_bytes": kb, "pkey_off": ko,
    }
    folder = path.parent
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tag = folder / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(_TAG, encoding="ascii")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        _warn("预处理缓存无法写入", "the prepared workspace could not be written", path, exc)
        return False
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    prefix = path.name.rsplit("-", 1)[0] + "-"
    stale = [p for p in folder.glob(f"{prefix}*.npz") if p != path]  # names: [A-Za-z0-9_-]
    # and what a process stopped while writing left (an hour old: no longer being written)
    stale += [p for p in folder.glob(".tmp-*.npz") if _age_s(p) > 3600]
    for old in stale:
        with contextlib.suppress(OSError):  # another process's, or gone already
            old.unlink()
    return True


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0
