import numpy as np

from peerscreen.review.training import near_duplicate_groups


def test_near_duplicates_share_a_group():
    texts = [
        "Peer specialists on assertive community treatment teams reduced admissions.",
        "Peer specialists on assertive community treatment teams reduced admissions!",
        "Mutual help groups for depression improved coping.",
    ]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] != groups[2]


def test_training_reports_every_metric(trained):
    for key in (
        "inclusion_roc_auc",
        "inclusion_average_precision",
        "inclusion_precision_at_recall95",
        "inclusion_work_saved_at_recall95",
        "inclusion_wss95",
        "category_macro_f1",
        "outcomes_micro_f1",
        "outcomes_macro_f1",
    ):
        assert key in trained.metrics
        assert 0 <= trained.metrics[key] <= 1 or key.endswith("wss95")
    assert trained.confusion.shape == (4, 4)
    assert list(trained.outcome_table.columns[:5]) == [
        "domain",
        "precision",
        "recall",
        "f1",
        "support",
    ]


def test_folds_keep_near_duplicates_together(trained):
    cv = trained.cv
    for group in np.unique(cv.groups):
        assert len(set(cv.folds[cv.groups == group])) == 1


def test_model_carries_provenance_and_bands(trained):
    info = trained.model.info
    assert info["config_digest"] and info["data_digest"] and info["seed"] == 0
    assert trained.model.bands.target_recall == 0.95
    assert trained.model.cv_scores is not None
