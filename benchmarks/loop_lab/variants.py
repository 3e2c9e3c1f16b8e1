"""Screening-loop variants tried for issue 4 (see benchmarks/RESULTS.md).

Each takes (data, seed) and returns an object with scores(labelled, labels)."""

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from peerscreen.screening.learner import ActiveLearner


def base(d, seed):
    return ActiveLearner(d["texts"], seed=seed)


class Learner:
    """Generic: features once, head per step."""

    def __init__(self, X, head, has_text=None):
        self.X = sparse.csr_matrix(X) if sparse.issparse(X) else X
        self.head = head

    def scores(self, known, labels):
        from sklearn.base import clone

        h = clone(self.head)
        h.fit(self.X[known], labels)
        return h.decision_function(self.X)


def tfidf(texts, **kw):
    opts = dict(
        ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.95, strip_accents="unicode"
    )
    opts.update(kw)
    safe = [t if t.strip() else " " for t in texts]
    return TfidfVectorizer(**opts).fit_transform(safe)


def svm(seed, C=0.11, w=9.8, **kw):
    return LinearSVC(C=C, class_weight={0: 1.0, 1: w}, random_state=seed, **kw)


def mindf2(d, seed):
    return Learner(tfidf(d["texts"], min_df=2), svm(seed))


def tol2(d, seed):
    return Learner(tfidf(d["texts"]), svm(seed, tol=1e-2))


class PseudoNeg:
    """AutoTAR-style: K random unlabelled records as temporary exclusions each retrain."""

    def __init__(self, X, head, k=100, weight=1.0, seed=0, redraw=True):
        self.X = sparse.csr_matrix(X)
        self.head = head
        self.k = k
        self.weight = weight
        self.rng = np.random.default_rng(seed)
        self.redraw = redraw
        self.fixed = self.rng.permutation(self.X.shape[0])

    def scores(self, known, labels):
        from sklearn.base import clone

        n = self.X.shape[0]
        mask = np.ones(n, bool)
        mask[known] = False
        if self.redraw:
            cand = np.flatnonzero(mask)
            extra = self.rng.choice(cand, min(self.k, len(cand)), replace=False)
        else:
            extra = self.fixed[mask[self.fixed]][: self.k]
        idx = np.r_[known, extra]
        y = np.r_[labels, np.zeros(len(extra), int)]
        w = np.r_[np.ones(len(known)), np.full(len(extra), self.weight)]
        h = clone(self.head)
        if self.weight == 1.0:
            h.fit(self.X[idx], y)
        else:
            h.fit(self.X[idx], y, sample_weight=w)
        return h.decision_function(self.X)


def pneg100(d, seed):
    return PseudoNeg(tfidf(d["texts"]), svm(seed), k=100, seed=seed)


def pneg50w3(d, seed):
    return PseudoNeg(tfidf(d["texts"]), svm(seed), k=50, weight=0.3, seed=seed)


def pneg100fixed(d, seed):
    return PseudoNeg(tfidf(d["texts"]), svm(seed), k=100, seed=seed, redraw=False)


def _rank01(v):
    r = np.argsort(np.argsort(v, kind="stable"), kind="stable")
    return r / max(1, len(v) - 1)


class Fusion:
    def __init__(self, learners):
        self.learners = learners

    def scores(self, known, labels):
        ranks = [_rank01(learner.scores(known, labels)) for learner in self.learners]
        return np.mean(ranks, axis=0)


def lsa_block(X, k=200, seed=0):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    Z = TruncatedSVD(k, random_state=seed, algorithm="randomized", n_iter=4).fit_transform(X)
    return normalize(Z)


def lsa_concat(d, seed, k=200, a=0.5):
    X = tfidf(d["texts"])
    Z = lsa_block(X, k, seed)
    return Learner(sparse.hstack([X, sparse.csr_matrix(a * Z)]).tocsr(), svm(seed, tol=1e-2))


def lsa_fuse(d, seed, k=200, a=0.5):
    X = tfidf(d["texts"])
    Z = lsa_block(X, k, seed)
    return Fusion(
        [
            Learner(X, svm(seed, tol=1e-2)),
            Learner(sparse.hstack([X, sparse.csr_matrix(a * Z)]).tocsr(), svm(seed, tol=1e-2)),
        ]
    )


def char_fuse(d, seed):
    Xw = tfidf(d["texts"])
    Xc = tfidf(d["texts"], analyzer="char_wb", ngram_range=(3, 5), min_df=2)
    return Fusion([Learner(Xw, svm(seed, tol=1e-2)), Learner(Xc, svm(seed, tol=1e-2))])


class WithPseudo:
    """Extra always-labelled rows appended to X (e.g. the criteria text as an inclusion)."""

    def __init__(self, X, n_extra, extra_labels, head, extra_weight=1.0):
        self.X = sparse.csr_matrix(X)
        self.n = X.shape[0] - n_extra
        self.extra = np.arange(self.n, X.shape[0])
        self.extra_labels = np.asarray(extra_labels)
        self.head = head
        self.w = extra_weight

    def scores(self, known, labels):
        from sklearn.base import clone

        idx = np.r_[known, self.extra]
        y = np.r_[labels, self.extra_labels]
        sw = np.r_[np.ones(len(known)), np.full(len(self.extra), self.w)]
        h = clone(self.head)
        h.fit(self.X[idx], y, sample_weight=sw)
        return h.decision_function(self.X)[: self.n]


def _criteria(d):
    from peerscreen.screening.datasets import published_criteria

    return published_criteria(d["name"])


def crit(d, seed, w=1.0):
    text = _criteria(d)
    X = tfidf(d["texts"] + [text])
    return WithPseudo(X, 1, [1], svm(seed, tol=1e-2), w)


def crit_fuse(d, seed):
    text = _criteria(d)
    X = tfidf(d["texts"] + [text])
    return Fusion(
        [Learner(X[:-1], svm(seed, tol=1e-2)), WithPseudo(X, 1, [1], svm(seed, tol=1e-2))]
    )


class Lazy:
    """Retrain after every inclusion; after exclusions only every max(1, n_labelled*frac) labels."""

    def __init__(self, inner, frac=0.02):
        self.inner = inner
        self.frac = frac
        self.last = None
        self.since = 0

    def scores(self, known, labels):
        if self.last is not None and labels[-1] == 0:
            self.since += 1
            if self.since < max(1, int(len(known) * self.frac)):
                return self.last
        self.since = 0
        self.last = self.inner.scores(known, labels)
        return self.last


def lazy2(d, seed):
    return Lazy(Learner(tfidf(d["texts"]), svm(seed, tol=1e-2)), 0.02)


def lazy5(d, seed):
    return Lazy(Learner(tfidf(d["texts"]), svm(seed, tol=1e-2)), 0.05)


def bal(d, seed):
    return Learner(
        tfidf(d["texts"]), LinearSVC(C=0.11, class_weight="balanced", random_state=seed, tol=1e-2)
    )


def title2(d, seed):
    texts = [f"{t} {t} {a}" if t else a for t, a in zip(d["titles"], d["abstracts"], strict=False)]
    return Learner(tfidf(texts), svm(seed, tol=1e-2))


def lazy_hybrid(d, seed):
    return Lazy(ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed), 0.02)


def lazy_pneg(d, seed):
    return Lazy(PseudoNeg(tfidf(d["texts"]), svm(seed, tol=1e-2), k=100, seed=seed), 0.02)


def lazy_title2(d, seed):
    return Lazy(title2(d, seed), 0.02)


class NBLearner:
    def __init__(self, X, alpha=3.822):
        self.X = sparse.csr_matrix(X)
        self.alpha = alpha

    def scores(self, known, labels):
        from sklearn.naive_bayes import MultinomialNB

        # ASReview-style "double" balance approximated by sample weights
        w = np.where(labels == 1, (labels == 0).sum() / max(1, (labels == 1).sum()), 1.0)
        m = MultinomialNB(alpha=self.alpha, fit_prior=False).fit(
            self.X[known], labels, sample_weight=w
        )
        jll = (
            m.predict_joint_log_proba(self.X)
            if hasattr(m, "predict_joint_log_proba")
            else m._joint_log_likelihood(self.X)
        )
        return jll[:, 1] - jll[:, 0]


def lazy_svm_nb(d, seed):
    X = tfidf(d["texts"])
    return Lazy(Fusion([Learner(X, svm(seed, tol=1e-2)), NBLearner(X)]), 0.02)


class PseudoNegLearner(PseudoNeg):
    pass


def lazy_hybrid_pneg(d, seed):
    al = ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed)
    return Lazy(PseudoNeg(al.features, al._head, k=100, seed=seed), 0.02)


def asr_weights(y, ratio=9.8):
    y = np.asarray(y)
    w = np.where(y == 1, 1.0, (y == 1).sum() / (ratio * (y == 0).sum()))
    return w * (len(y) / w.sum())


class WLearner:
    """SVM with ASReview-style balanced sample weights (inclusions weigh ratio * n0/n1)."""

    def __init__(self, X, seed, ratio=9.8, C=0.11, k_pneg=0):
        self.X = sparse.csr_matrix(X)
        self.seed = seed
        self.ratio = ratio
        self.C = C
        self.k = k_pneg
        self.rng = np.random.default_rng(seed)

    def scores(self, known, labels):
        idx, y = np.asarray(known), np.asarray(labels)
        if self.k:
            mask = np.ones(self.X.shape[0], bool)
            mask[idx] = False
            cand = np.flatnonzero(mask)
            extra = self.rng.choice(cand, min(self.k, len(cand)), replace=False)
            idx = np.r_[idx, extra]
            y = np.r_[y, np.zeros(len(extra), int)]
        m = LinearSVC(C=self.C, random_state=self.seed, tol=1e-2)
        m.fit(self.X[idx], y, sample_weight=asr_weights(y, self.ratio))
        return self.X @ m.coef_[0] + m.intercept_[0]


def asrbal(d, seed):
    return Learner0(d, seed)


def Learner0(d, seed, **kw):
    return WLearner(tfidf(d["texts"]), seed, **kw)


def lazy_asrbal(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed), 0.02)


def lazy_asrbal_pneg(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, k_pneg=100), 0.02)


def lazy_asrbal_hybrid(d, seed, k=0):
    al = ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed)
    X = al.features
    nlex = X.shape[1] - 384
    return Lazy(Fusion([WLearner(X[:, :nlex], seed, k_pneg=k), WLearner(X, seed, k_pneg=k)]), 0.02)


def lazy_asrbal_hybrid_pneg(d, seed):
    return lazy_asrbal_hybrid(d, seed, k=100)


def lazy_asrbal_r5(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, ratio=5), 0.02)


def lazy_asrbal_r20(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, ratio=20), 0.02)


def lazy_asrbal_C05(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, C=0.05), 0.02)


def lazy_asrbal_C03(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, C=0.3), 0.02)


def lazy_asrbal_title2(d, seed):
    texts = [f"{t} {t} {a}" if t else a for t, a in zip(d["titles"], d["abstracts"], strict=False)]
    return Lazy(WLearner(tfidf(texts), seed), 0.02)


def lazy_asrbal_tri(d, seed):
    return Lazy(WLearner(tfidf(d["texts"], ngram_range=(1, 3)), seed), 0.02)


def lazy_asrbal_C1(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, C=1.0), 0.02)


def lazy_asrbal_C06(d, seed):
    return Lazy(WLearner(tfidf(d["texts"]), seed, C=0.6), 0.02)


class NBSVM:
    """SVM on TF-IDF scaled by the NB log-count ratio of the labelled records
    (Wang & Manning 2012)."""

    def __init__(self, X, seed, C=0.11, ratio=9.8, alpha=1.0, abs_r=False, beta=None):
        self.X = sparse.csr_matrix(X)
        self.B = self.X.copy()
        self.B.data[:] = 1.0
        self.seed = seed
        self.C = C
        self.ratio = ratio
        self.alpha = alpha
        self.abs_r = abs_r

    def scores(self, known, labels):
        idx, y = np.asarray(known), np.asarray(labels)
        Bk = self.B[idx]
        p = self.alpha + np.asarray(Bk[y == 1].sum(axis=0)).ravel()
        q = self.alpha + np.asarray(Bk[y == 0].sum(axis=0)).ravel()
        r = np.log(p / p.sum()) - np.log(q / q.sum())
        if self.abs_r:
            r = np.abs(r)
        Xk = self.X[idx] @ sparse.diags(r)
        m = LinearSVC(C=self.C, random_state=self.seed, tol=1e-2)
        m.fit(Xk, y, sample_weight=asr_weights(y, self.ratio))
        return self.X @ (r * m.coef_[0]) + m.intercept_[0]


def lazy_nbsvm(d, seed):
    return Lazy(NBSVM(tfidf(d["texts"]), seed), 0.02)


def lazy_nbsvm_abs(d, seed):
    return Lazy(NBSVM(tfidf(d["texts"]), seed, abs_r=True), 0.02)


class FusionW:
    def __init__(self, learners, weights=None, how="mean"):
        self.learners = learners
        self.weights = weights
        self.how = how

    def scores(self, known, labels):
        ranks = np.array([_rank01(learner.scores(known, labels)) for learner in self.learners])
        if self.how == "max":
            return ranks.max(axis=0) + 1e-3 * ranks.mean(axis=0)
        w = np.asarray(self.weights if self.weights is not None else np.ones(len(ranks)))
        return (w[:, None] * ranks).sum(axis=0) / w.sum()


def _hyb_parts(d, seed):
    al = ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed)
    X = al.features
    nlex = X.shape[1] - 384
    return WLearner(X[:, :nlex], seed), WLearner(X, seed)


def lazy_hyb_max(d, seed):
    return Lazy(FusionW(list(_hyb_parts(d, seed)), how="max"), 0.02)


def lazy_hyb_w3(d, seed):
    return Lazy(FusionW(list(_hyb_parts(d, seed)), weights=[0.7, 0.3]), 0.02)


def lazy_tri(d, seed):
    al = ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed)
    X = al.features
    nlex = X.shape[1] - 384
    Xl = X[:, :nlex]
    return Lazy(
        FusionW([WLearner(Xl, seed), Learner(Xl, svm(seed, tol=1e-2)), WLearner(X, seed)]), 0.02
    )


def lazy_asr_lexsem(d, seed):
    al = ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed)
    X = al.features
    nlex = X.shape[1] - 384
    return Lazy(FusionW([WLearner(X[:, :nlex], seed), WLearner(X[:, nlex:], seed)]), 0.02)


def prod(d, seed):
    return Lazy(ActiveLearner(d["texts"], seed=seed), 0.02)


def _lazy(inner, **loop):
    """`Lazy(inner, 0.02)` with the harness's loop settings as attributes: window and theta
    or strength and smooth (textless reading), skip_empty (textless records out of fits)."""
    learner = Lazy(inner, 0.02)
    for name, value in loop.items():
        setattr(learner, name, value)
    return learner


def _words(d, seed):
    return WLearner(tfidf(d["texts"]), seed)


def emp20(d, seed):
    return _lazy(_words(d, seed), window=20, theta=0.5)


def emp20t1(d, seed):
    return _lazy(_words(d, seed), window=20, theta=1.0)


def bandit5(d, seed):
    return _lazy(_words(d, seed), window=20, strength=5)


def bandit10(d, seed):
    return _lazy(_words(d, seed), window=20, strength=10)


def bandit_s20(d, seed):
    return _lazy(_words(d, seed), window=20, strength=5, smooth=1)


def bandit_s50(d, seed):
    return _lazy(_words(d, seed), window=50, strength=5, smooth=1)


def emp20_skip(d, seed):
    return _lazy(_words(d, seed), window=20, theta=0.5, skip_empty=True)


def asrbal_skip(d, seed):
    return _lazy(_words(d, seed), skip_empty=True)


def emp20_skip_t25(d, seed):
    return _lazy(_words(d, seed), window=20, theta=0.25, skip_empty=True)


def bandit_skip(d, seed):
    return _lazy(_words(d, seed), window=50, strength=5, smooth=1, skip_empty=True)


def _hybrid(d, seed):
    X = ActiveLearner(d["texts"], backend="tfidf+minilm", seed=seed).features
    nlex = X.shape[1] - 384
    return Fusion([WLearner(X[:, :nlex], seed), WLearner(X, seed)])


def hyb_emp_skip(d, seed):
    return _lazy(_hybrid(d, seed), window=20, theta=0.5, skip_empty=True)


def hyb_skip(d, seed):
    return _lazy(_hybrid(d, seed), skip_empty=True)


class CriteriaRow:
    """The review's published criteria appended as one more (always labelled) inclusion."""

    def __init__(self, X, seed, has_criteria):
        self.X = sparse.csr_matrix(X)
        self.n = X.shape[0] - (1 if has_criteria else 0)
        self.has_criteria = has_criteria
        self.seed = seed

    def scores(self, known, labels):
        idx, y = np.asarray(known), np.asarray(labels)
        if self.has_criteria:
            idx, y = np.r_[idx, self.n], np.r_[y, 1]
        m = LinearSVC(C=0.11, random_state=self.seed, tol=1e-2)
        m.fit(self.X[idx], y, sample_weight=asr_weights(y))
        return (self.X @ m.coef_[0] + m.intercept_[0])[: self.n]


def criteria_row(d, seed):
    text = _criteria(d)
    texts = d["texts"] + ([text] if text else [])
    L = Lazy(CriteriaRow(tfidf(texts), seed, bool(text)), 0.02)
    L.skip_empty = True
    return L


def criteria_row_hybrid(d, seed):
    text = _criteria(d)
    texts = d["texts"] + ([text] if text else [])
    al = ActiveLearner(texts, backend="tfidf+minilm", seed=seed)
    X = al.features
    nlex = X.shape[1] - 384
    L = Lazy(
        Fusion([CriteriaRow(X[:, :nlex], seed, bool(text)), CriteriaRow(X, seed, bool(text))]),
        0.02,
    )
    L.skip_empty = True
    return L


# --- record metadata beside the words (session 4) -------------------------------------
def _norm(s):
    return " ".join(str(s).lower().split())


def meta_tokens(d, parts):
    """One bag of tokens per record from its metadata: OpenAlex concepts, MeSH headings,
    journal, year (exact and five-year bin)."""
    out = []
    for i in range(len(d["texts"])):
        toks = []
        if "kw" in parts:
            toks += ["kw=" + _norm(k) for k in d["keywords"][i]]
        if "mesh" in parts:
            toks += ["mesh=" + _norm(m).lstrip("*") for m in d["mesh"][i]]
        if "journal" in parts and d["journals"][i]:
            toks.append("jr=" + _norm(d["journals"][i]))
        if "year" in parts and d["years"][i]:
            y = int(d["years"][i])
            toks += [f"yr={y}", f"yr5={y // 5}", f"yr5b={(y + 2) // 5}"]
        out.append(toks)
    return out


def meta_block(d, parts):
    v = TfidfVectorizer(analyzer=lambda toks: toks, sublinear_tf=True, min_df=1)
    toks = meta_tokens(d, parts)
    if not any(toks):
        return None
    return v.fit_transform(toks)


def _meta_learner(d, seed, parts, a):
    return _blocks(d, seed, [(parts, a)], 0)


def meta_all05(d, seed):
    return _meta_learner(d, seed, ("kw", "mesh", "journal", "year"), 0.5)


def meta_all1(d, seed):
    return _meta_learner(d, seed, ("kw", "mesh", "journal", "year"), 1.0)


def meta_kwmesh05(d, seed):
    return _meta_learner(d, seed, ("kw", "mesh"), 0.5)


def meta_kwmesh1(d, seed):
    return _meta_learner(d, seed, ("kw", "mesh"), 1.0)


def meta_year03(d, seed):
    return _meta_learner(d, seed, ("year",), 0.3)


def meta_year06(d, seed):
    return _meta_learner(d, seed, ("year",), 0.6)


def meta_journal05(d, seed):
    return _meta_learner(d, seed, ("journal",), 0.5)


def _ramp(d, seed, parts, a, ramp):
    return _blocks(d, seed, [(parts, a)], ramp)


def year03_r5(d, seed):
    return _ramp(d, seed, ("year",), 0.3, 5)


def year03_r10(d, seed):
    return _ramp(d, seed, ("year",), 0.3, 10)


def year05_r10(d, seed):
    return _ramp(d, seed, ("year",), 0.5, 10)


def year02(d, seed):
    return _ramp(d, seed, ("year",), 0.2, 0)


def year04_r5(d, seed):
    return _ramp(d, seed, ("year",), 0.4, 5)


class RampBlocks:
    """Words plus metadata blocks, each weighted a_k x min(1, n_included / ramp); an
    optional criteria row (the review's criteria as one more inclusion, no metadata)."""

    def __init__(self, T, blocks, seed, ramp, criteria=False):
        self.T = sparse.csr_matrix(T)
        self.blocks = [(sparse.csr_matrix(B), a) for B, a in blocks]
        self.seed, self.ramp, self.criteria = seed, ramp, criteria
        self.n = self.T.shape[0] - (1 if criteria else 0)

    def scores(self, known, labels):
        idx, y = np.asarray(known), np.asarray(labels)
        f = min(1.0, y.sum() / self.ramp) if self.ramp else 1.0
        if self.criteria:
            idx, y = np.r_[idx, self.n], np.r_[y, 1]
        parts = [self.T] + [a * f * B for B, a in self.blocks if a * f > 0]
        X = sparse.hstack(parts).tocsr() if len(parts) > 1 else self.T
        m = LinearSVC(C=0.11, random_state=self.seed, tol=1e-2)
        m.fit(X[idx], y, sample_weight=asr_weights(y))
        return (X @ m.coef_[0] + m.intercept_[0])[: self.n]


def _blocks(d, seed, spec, ramp, criteria=False, window=0):
    text = _criteria(d) if criteria else ""
    texts = d["texts"] + ([text] if text else [])
    T = tfidf(texts)
    blocks = []
    for parts, a in spec:
        B = meta_block(d, parts)
        if B is not None:
            if text:
                B = sparse.vstack([B, sparse.csr_matrix((1, B.shape[1]))])
            blocks.append((B, a))
    L = Lazy(RampBlocks(T, blocks, seed, ramp, bool(text)), 0.02)
    L.skip_empty = True
    if window:
        L.window = window
        L.theta = 0.5
    return L


def yr3_kw2(d, seed):
    return _blocks(d, seed, [(("year",), 0.3), (("kw", "mesh"), 0.2)], 5)


def yr3_jr2(d, seed):
    return _blocks(d, seed, [(("year",), 0.3), (("journal",), 0.2)], 5)


def yr3_crit(d, seed):
    return _blocks(d, seed, [(("year",), 0.3)], 5, criteria=True)


def yr3_crit_dry(d, seed):
    return _blocks(d, seed, [(("year",), 0.3)], 5, criteria=True, window=20)


def yr3_dry(d, seed):
    return _blocks(d, seed, [(("year",), 0.3)], 5, window=20)


def yr2_crit(d, seed):
    return _blocks(d, seed, [(("year",), 0.2)], 0, criteria=True)
