"""Text clustering behind :mod:`cekura_analytics.failure_modes` (scikit-learn, offline).

Algorithm, for the failed explanations of one metric (emoji and metric name already removed):

1. **Vectors.** TF-IDF over words (letters only: numbers, times and references are details of
   one call; English stop words dropped; a term must occur in >= 2 distinct explanations;
   sublinear tf; rows L2-normalised). Identical texts are clustered once, weighted by count.
2. **Micro-clusters.** Spherical k-means (k-means on unit rows: cosine geometry) into
   ``MICRO`` = 30 clusters (fewer for small metrics: n/8, at least min(8, n/3)). They are
   finer than modes: one per way of *wording* a failure, roughly.
3. **Modes.** The micro-cluster centres are merged by average-linkage agglomerative clustering
   on cosine distance, cut at ``MERGE_DISTANCE`` = 0.8: the number of modes follows from the
   data (a metric that fails in one way gets one mode). Then ``LLOYD_STEPS`` = 2 rounds of
   "each explanation to its nearest mode centre, centres recomputed" repair explanations a
   micro-cluster caught for their noise (a shared closing sentence) rather than their content.
4. **Describing a mode.** Label: the 4 terms whose centre weight most exceeds their mean weight
   in the metric's other centres. Example: the member closest to the centre. Id: ``fm-`` + the
   first 10 hex digits of sha256(metric id + the mode's 5 heaviest centre terms, sorted) -- a
   function of the data only, so a rerun on the same data (same seed) gives the same ids, and
   small changes of the data rarely move the heaviest terms.
5. **Incremental.** A new explanation is vectorised in the stored vocabulary (stored idf) and
   joins the nearest stored centre, unless its cosine is below that mode's ``floor`` (0.8 x
   the 1st percentile of its members' cosines at build time): such far explanations are
   clustered among themselves (steps 1-4, their unseen terms appended to the vocabulary with
   the vocabulary's highest idf) into new modes.

Everything is deterministic for a seed: the sample and the k-means initialisations use it.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

MICRO = 30  # k-means micro-clusters per metric (paraphrase level), merged into modes
MERGE_DISTANCE = 0.8  # average-linkage cosine distance under which micro-clusters merge
LLOYD_STEPS = 2
FLOOR_QUANTILE = 0.01  # members' cosine quantile that defines a mode's reach ...
FLOOR_FACTOR = 0.8  # ... times this: the floor under which a new text opens a new mode
LABEL_TERMS = 4
ID_TERMS = 5
CENTRE_TERMS = 400  # centre weights kept per mode (the heaviest; the rest are ~0)
# words only: numbers, times and references are details of one call, not of a mode
_VEC = {"stop_words": "english", "lowercase": True, "token_pattern": r"(?u)\b[^\W\d_]{2,}\b"}


@dataclass
class Vocab:
    """A metric's vector space: terms and their idf (what incremental assignment needs)."""

    terms: list[str]
    idf: np.ndarray

    def index(self) -> dict[str, int]:
        """term -> column."""
        return {t: i for i, t in enumerate(self.terms)}


@dataclass
class Mode:
    """One cluster: its centre (sparse: term -> weight) and how it is described."""

    mode_id: str
    label: str
    top_terms: list[str]
    centre: dict[str, float]
    floor: float
    example: int  # index (into the texts given) of the member closest to the centre
    members: np.ndarray = field(repr=False)  # indices into the texts given
    similarity: np.ndarray = field(repr=False)  # cosine of each member to the centre


def fit_vocab(texts: list[str]) -> tuple[Vocab, sp.csr_matrix]:
    """Fit TF-IDF on ``texts``; the vocabulary and the unit-row matrix."""
    min_df = 2 if len(texts) >= 4 else 1
    vec = TfidfVectorizer(min_df=min_df, sublinear_tf=True, dtype=np.float64, **_VEC)
    try:
        x = vec.fit_transform(texts)
    except ValueError:  # no word in two texts: take every word once
        vec = TfidfVectorizer(min_df=1, sublinear_tf=True, dtype=np.float64, **_VEC)
        try:
            x = vec.fit_transform(texts)
        except ValueError:  # nothing but empty texts: one mode of them
            return Vocab([], np.zeros(0)), sp.csr_matrix((len(texts), 0))
    return Vocab(list(vec.get_feature_names_out()), vec.idf_.copy()), sp.csr_matrix(x)


def transform(texts: list[str], vocab: Vocab) -> sp.csr_matrix:
    """Vectorise ``texts`` in a stored vocabulary (same tf, idf and normalisation as the fit)."""
    if not vocab.terms:
        return sp.csr_matrix((len(texts), 0))
    counts = CountVectorizer(vocabulary=vocab.index(), **_VEC).transform(texts)
    x = sp.csr_matrix(counts, dtype=np.float64)
    x.data = 1.0 + np.log(x.data)  # sublinear tf
    x = x @ sp.diags(vocab.idf)
    return _unit_rows(sp.csr_matrix(x))


def extend_vocab(vocab: Vocab, texts: list[str]) -> Vocab:
    """``vocab`` plus the terms of ``texts`` it lacks (idf: the vocabulary's highest)."""
    new, _ = fit_vocab(texts)
    known = set(vocab.terms)
    extra = [t for t in new.terms if t not in known]
    top = float(vocab.idf.max()) if len(vocab.idf) else 1.0
    return Vocab(vocab.terms + extra, np.concatenate([vocab.idf, np.full(len(extra), top)]))


def _unit_rows(x: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ x)


def cluster(x: sp.csr_matrix, weights: np.ndarray, seed: int) -> np.ndarray:
    """A mode number per row of ``x`` (unit rows of distinct texts, ``weights`` = counts)."""
    n = x.shape[0]
    if n < 3 or x.nnz == 0:
        return np.zeros(n, dtype=np.int64)
    micro = min(MICRO, max(2, n // 8, min(8, n // 3)))  # small metrics: still a few
    with warnings.catch_warnings():  # fewer distinct vectors than micro-clusters is fine
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=micro, n_init=1, random_state=seed).fit(x, sample_weight=weights)
    centres = km.cluster_centers_ / np.maximum(
        np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12
    )
    # cosine distances by hand: a centre of empty texts (zero vector) is at distance 1 from all
    dist = np.clip(1.0 - centres @ centres.T, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    merged = fcluster(tree, MERGE_DISTANCE, criterion="distance") - 1
    labels = merged[km.labels_]
    for _ in range(LLOYD_STEPS):  # each text to its nearest mode centre (fixes noisy texts)
        centres = _centres(x, weights, labels)
        labels = np.asarray((x @ centres.T).argmax(axis=1)).ravel()
    return np.unique(labels, return_inverse=True)[1]  # drop centres that lost every member


def _centres(x: sp.csr_matrix, weights: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The unit-length weighted mean of each label's rows (dense, one row per label)."""
    k = int(labels.max()) + 1
    onehot = sp.csr_matrix((weights, (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    means = np.asarray((onehot @ x).todense())
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


def describe(
    metric_id: int,
    x: sp.csr_matrix,
    weights: np.ndarray,
    labels: np.ndarray,
    vocab: Vocab,
) -> list[Mode]:
    """Centre, label, example, id and floor of every mode in ``labels``."""
    k = int(labels.max()) + 1 if len(labels) else 0
    centres = []
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        mean = np.asarray(x[rows].T @ weights[rows]).ravel()
        centres.append(mean / (np.linalg.norm(mean) or 1.0))
    modes = []
    for c, centre in enumerate(centres):
        rows = np.flatnonzero(labels == c)
        sim = np.asarray(x[rows] @ centre).ravel()
        others = np.mean([o for j, o in enumerate(centres) if j != c], axis=0) if k > 1 else 0
        distinct = centre - others
        label_terms = [vocab.terms[i] for i in np.argsort(-distinct, kind="stable")[:LABEL_TERMS]]
        label_terms = label_terms or ["(no explanation)"]
        heavy = np.argsort(-centre, kind="stable")[:CENTRE_TERMS]
        heavy = heavy[centre[heavy] > 0]
        top = [vocab.terms[i] for i in heavy[:ID_TERMS]]
        modes.append(
            Mode(
                mode_id=mode_id(metric_id, top),
                label=" · ".join(label_terms),
                top_terms=top,
                centre={vocab.terms[i]: float(centre[i]) for i in heavy},
                floor=FLOOR_FACTOR * float(np.quantile(sim, FLOOR_QUANTILE)),
                example=int(rows[np.argmax(sim)]),
                members=rows,
                similarity=sim,
            )
        )
    _dedupe_ids(modes)
    return modes


def mode_id(metric_id: int, top_terms: list[str]) -> str:
    """``fm-`` + 10 hex digits of sha256(metric id, the sorted heaviest centre terms)."""
    key = f"{metric_id}|" + "|".join(sorted(top_terms))
    return "fm-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _dedupe_ids(modes: list[Mode]) -> None:
    """Two modes with the same heaviest terms (rare): suffix the later ones, by size."""
    seen: dict[str, int] = {}
    for m in sorted(modes, key=lambda m: (-len(m.members), m.label)):
        if m.mode_id in seen:
            seen[m.mode_id] += 1
            m.mode_id = f"{m.mode_id}-{seen[m.mode_id]}"
        else:
            seen[m.mode_id] = 0


def fit_modes(
    metric_id: int, texts: list[str], seed: int, vocab: Vocab | None = None
) -> tuple[Vocab, list[Mode], np.ndarray]:
    """Cluster ``texts`` (identical ones once, weighted); (vocab, modes, text -> distinct row).

    ``vocab`` given: it is extended with the texts' new terms instead of fitted afresh."""
    uniq, inv, counts = np.unique(np.array(texts, dtype=object), return_inverse=True,
                                  return_counts=True)  # fmt: skip
    distinct = [str(t) for t in uniq]
    weights = counts.astype(np.float64)
    if vocab is None:
        vocab, x = fit_vocab(distinct)
    else:
        vocab = extend_vocab(vocab, distinct)
        x = transform(distinct, vocab)
    labels = cluster(x, weights, seed)
    return vocab, describe(metric_id, x, weights, labels, vocab), inv.ravel()


def assign(
    texts: list[str], vocab: Vocab, modes: list[Mode]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Incremental step: (nearest mode index, its cosine, is-far) for each new text."""
    x = transform(texts, vocab)
    return nearest(x, centre_matrix(modes, vocab), np.array([m.floor for m in modes]))


def centre_matrix(modes: list[Mode], vocab: Vocab) -> sp.csr_matrix:
    """The stored centres as rows of a matrix over ``vocab`` (terms it lacks are dropped)."""
    index = vocab.index()
    rows, cols, vals = [], [], []
    for r, m in enumerate(modes):
        for term, w in m.centre.items():
            j = index.get(term)
            if j is not None:
                rows.append(r)
                cols.append(j)
                vals.append(w)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(modes), len(vocab.terms)))


def nearest(
    x: sp.csr_matrix, centres: sp.csr_matrix, floors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nearest mode, its cosine, is-far) for each row of ``x``."""
    if centres.shape[0] == 0:
        n = x.shape[0]
        return np.zeros(n, dtype=np.int64), np.zeros(n), np.ones(n, dtype=bool)
    sims = (x @ centres.T).toarray()
    best = sims.argmax(axis=1)
    sim = sims[np.arange(len(best)), best]
    return best, sim, sim < floors[best]
