"""MLflow server mode: `peerscreen train --tracking-uri http://...` against a real `mlflow server`
(SQLite backend and served artifacts in a temporary folder, 127.0.0.1 only), then the model
back by its `models:/` URI through the same server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from peerscreen.io.writers import write_records
from peerscreen.tracking import ModelNotFoundError, load_review_model

pytestmark = pytest.mark.slow
MODEL_NAME = "peerscreen-server-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK="true")
    return env


def _wait_until_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A server of our own for the module; its process group is stopped whatever happens."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow_cli)] if mlflow_cli.exists() else [sys.executable, "-m", "mlflow"]
    command += [
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = folder / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            command,
            cwd=folder,
            # no background job runner (seven huey consumers): the test needs none
            env={**_environment(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # uvicorn runs as a child: stop the whole group
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server, log, timeout=180)
        yield url, folder
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture
def restore_mlflow_uris():
    import mlflow

    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)


def test_train_logs_to_a_server_and_the_model_loads_by_uri(
    mlflow_server, small_corpus, tmp_path, restore_mlflow_uris
):
    url, folder = mlflow_server
    data = write_records(small_corpus, tmp_path / "labelled.jsonl")
    command = [sys.executable, "-m", "peerscreen", "train", "--data", str(data)]
    command += ["--tracking-uri", url, "--register-as", MODEL_NAME, "--experiment", "server-test"]
    train = subprocess.run(
        command,
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    stdout = " ".join(train.stdout.split())
    assert f"registered {MODEL_NAME} version 1" in stdout and url in stdout
    # everything went through the server: nothing in the working folder, artifacts on its side
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()
    assert list((folder / "artifacts").rglob("review_model.joblib"))

    model = load_review_model(f"models:/{MODEL_NAME}/1", tracking_uri=url)
    sample = small_corpus.take([0, 1, 2])
    predictions = model.predict(sample)
    assert len(predictions) == 3 and predictions["p_include"].between(0, 1).all()

    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1")
    frame = pd.DataFrame({"title": list(sample.frame["title"])})
    out = pyfunc.predict(frame, params={"task": "tag"})
    assert len(out) == 3 and {"category", "outcomes", "design"} <= set(out.columns)

    with pytest.raises(ModelNotFoundError, match="cannot load"):
        load_review_model(f"models:/{MODEL_NAME}/9", tracking_uri=url)
