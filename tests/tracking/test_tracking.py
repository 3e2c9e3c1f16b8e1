"""MLflow: a training run logs everything; the pyfunc model round-trips by path and by URI."""

from __future__ import annotations

import pandas as pd
import pytest

from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.tracking import ModelNotFoundError, load_review_model, log_training_run, save_pyfunc


@pytest.fixture(scope="module")
def logged(trained, tmp_path_factory, mlflow_uri):
    folder = tmp_path_factory.mktemp("artifacts")
    uri = mlflow_uri
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("test-train", artifact_location=str(folder))
    run = log_training_run(
        trained,
        experiment="test-train",
        register_as="peerscreen-test",
        config_path=DEFAULT_CONFIG,
        data_paths=["corpus"],
        tracking_uri=uri,
    )
    return run, uri


def test_run_logs_params_metrics_and_artifacts(logged):
    import mlflow

    run, uri = logged
    client = mlflow.MlflowClient(tracking_uri=uri)
    data = client.get_run(run.run_id).data
    assert data.params["backend"] == "tfidf-lr"
    assert len(data.params["config_digest"]) == 16 and len(data.params["data_digest"]) == 16
    assert "inclusion_roc_auc" in data.metrics and "outcomes_macro_f1" in data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.run_id)}
    assert {"figures", "tables", "config"} <= artifacts
    figures = {a.path for a in client.list_artifacts(run.run_id, "figures")}
    assert figures == {"figures/inclusion_roc_pr.png", "figures/category_confusion.png"}
    assert run.registered_version == "1"


def test_pyfunc_returns_one_row_per_text(logged):
    import mlflow.pyfunc

    run, uri = logged
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/{run.registered_name}/1")
    frame = pd.DataFrame(
        {
            "title": ["Peer specialists on ACT teams", "Online forum for teenagers", "Drug trial"],
            "abstract": ["Adults with schizophrenia ...", "Adolescents posted ...", None],
        }
    )
    out = model.predict(frame)
    assert len(out) == 3
    assert {"p_include", "decision", "category", "outcomes", "exclusion_flags"} <= set(out.columns)
    assert model.metadata.get_input_schema().input_names()[:2] == ["title", "abstract"]


def test_load_review_model_by_uri_and_by_path(logged, trained, tmp_path, small_corpus):
    run, uri = logged
    by_uri = load_review_model(f"models:/{run.registered_name}/1", tracking_uri=uri)
    folder = save_pyfunc(trained.model, tmp_path / "default")
    assert (folder / "MLmodel").exists()
    by_path = load_review_model(folder)
    sample = small_corpus.take([0, 1, 2, 3])
    expected = trained.model.predict(sample)["p_include"].to_numpy()
    for loaded in (by_uri, by_path):
        assert list(loaded.predict(sample)["p_include"].round(10)) == list(expected.round(10))


def test_promote_replaces_an_existing_model(trained, tmp_path):
    target = tmp_path / "default"
    save_pyfunc(trained.model, target)
    save_pyfunc(trained.model, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default"]


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model found"):
        load_review_model(tmp_path / "nothing")


def test_saving_the_model_prints_no_mlflow_warning(trained, tmp_path):
    """MLflow warns "Add type hints to the `predict` method" on every save and log unless
    predict has them (a filter cannot hide it: MLflow resets the filters around its check)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_pyfunc(trained.model, tmp_path / "model")
    user_warnings = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert user_warnings == []
    loaded = load_review_model(tmp_path / "model")
    assert type(loaded) is type(trained.model)
