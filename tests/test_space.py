"""The Space app, end to end in a real browser, plus its input checks called directly.

The browser tests start ``hub_scripts/space/app.py`` on a free loopback port with a tiny model, and drive it with
Playwright on the system's headless Chromium (``/usr/bin/chromium``; ``playwright install`` would download a
browser, which this project never does). Without that browser they are skipped, except under ``CI=true``, where a
missing browser is a failure: CI must install it (``apt-get install -y chromium``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from bad_input_table import shown
from environment import require_extra
from tiny_model import MAX_GLOSSES, POSE_FILE, save_tiny_run

from dataset_builder import EXAMPLE_POSE, EXAMPLE_VIDEO
from modeling_signattention.interpretability.schema import INTERPRETABILITY_FILE, TIMESTAMP_RELIABILITY_FILE
from modeling_signattention.interpretability.timestamps import timestamp_reliability

cv2 = require_extra("space", "gradio", "mediapipe", "cv2")

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "hub_scripts" / "space" / "app.py"
SIGNER_CLIP = EXAMPLE_VIDEO
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps opening connections that a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_EVALUATE_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}
SERVER_START_TIMEOUT_S = 90
TRANSLATE_TIMEOUT_MS = 60_000
# The leaderboard part of interpretability.json as hub_scripts.interpret writes it when the best method, one
# cross-attention head, was picked on the validation split and then scored on test: the SD run's test scores (its
# file predates timestamp_method; rollout, the best time-stamp IoU there, stands in). The boundary errors, gloss
# counts and the prior's IoU, which the page does not show, are made up.
TIMESTAMP_EXTRAS = {"timestamp_boundary_error": 4.0, "timestamp_num_glosses": 3463}
HEAD_BENCHMARK = {
    "split": "test",
    "attribution": {
        "attention": {"gold_peak_accuracy": 0.7910, "timestamp_mean_iou": 0.5767} | TIMESTAMP_EXTRAS,
        "value_norm": {"gold_peak_accuracy": 0.7188, "timestamp_mean_iou": 0.5344} | TIMESTAMP_EXTRAS,
        "rollout": {"gold_peak_accuracy": 0.7797, "timestamp_mean_iou": 0.6233} | TIMESTAMP_EXTRAS,
        "value_norm_head1": {"gold_peak_accuracy": 0.8244, "timestamp_mean_iou": 0.4870} | TIMESTAMP_EXTRAS,
    },
    "baselines": {
        "diagonal_prior": {"gold_peak_accuracy": 0.6698, "timestamp_mean_iou": 0.5} | TIMESTAMP_EXTRAS
    },
    "best_method": "value_norm_head1",
    "best_method_chosen_by": "gold_peak_accuracy",
    "best_method_chosen_on": "validation",
    "timestamp_method": "rollout",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def head_model_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run, its leaderboard saying that head 1 of ``value_norm``, picked on validation, is best, and
    rollout best for time stamps; the model folder holds what the pipeline reads of it, as the main job writes it."""
    run = tmp_path_factory.mktemp("head_run") / "run"
    shutil.copytree(model_dir.parent, run)
    scores = json.loads((run / INTERPRETABILITY_FILE).read_text(encoding="utf-8")) | HEAD_BENCHMARK
    (run / INTERPRETABILITY_FILE).write_text(json.dumps(scores), encoding="utf-8")
    reliability = json.dumps(timestamp_reliability(scores), ensure_ascii=False)
    (run / "model" / TIMESTAMP_RELIABILITY_FILE).write_text(reliability, encoding="utf-8")
    return run / "model"


# -- the page in a browser -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with code {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(
        f"the app did not answer on {url} within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="module")
def server(chromium: Path, head_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app in its own process, as a user would start it; always stopped afterwards. Its run picked a head."""
    port = free_port()
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "SIGNATTENTION_MODEL": str(head_model_dir),
        "GRADIO_SERVER_PORT": str(port),
    }
    env.pop("SPACE_ID", None)
    env.pop("GRADIO_SERVER_NAME", None)
    log = tmp_path_factory.mktemp("server") / "app.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(APP)], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server: str) -> Iterator:
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.set_default_timeout(60_000)  # generous: the machine is shared
    page.goto(server)
    try:
        yield page
    finally:
        page.close()


def upload_and_translate(page, clip: Path, screenshot: Path) -> None:
    """Upload like a user; on a timeout, keep a screenshot of what the page showed instead."""
    try:
        with page.expect_response(lambda response: "/upload" in response.url) as upload:
            page.locator("#clip-upload input[type=file]").set_input_files(str(clip))
        assert upload.value.ok, f"upload of {clip.name} answered {upload.value.status}"
        # The component lists the file once it holds it, labelled with its name (its text is split in spans).
        page.locator("#clip-upload").get_by_label(clip.name, exact=True).wait_for()
    except Exception:
        page.screenshot(path=str(screenshot), full_page=True)
        raise
    page.locator("#translate-button").click()


@pytest.mark.browser
def test_translating_the_real_signer_clip_shows_glosses_and_attention(page, tmp_path: Path) -> None:
    upload_and_translate(page, SIGNER_CLIP, tmp_path / "upload_failed.png")
    glosses = page.locator("#glosses textarea")
    page.wait_for_function(
        "() => document.querySelector('#glosses textarea').value.length > 0", timeout=TRANSLATE_TIMEOUT_MS
    )
    assert len(glosses.input_value().split()) == MAX_GLOSSES
    page.locator("#attention-heatmap img").wait_for(state="visible")
    page.locator("#contribution-plot img").wait_for(state="visible")
    assert page.locator("#peak-frames img").count() == MAX_GLOSSES
    assert "diagonality" in page.locator("#alignment-scores").inner_text()
    assert "58 frames" in page.locator("#clip-summary").inner_text()
    assert not page.locator("#error-message").is_visible()
    about = page.locator("#model-description").inner_text()
    assert "trained on synthetic MediaPipe Holistic poses" in about and "means nothing" in about
    # The map shown is the pipeline's time-stamp method, the run's pick for time stamps, with its test scores.
    assert page.locator("#attribution-method input").input_value() == "rollout"
    trust = page.locator("#method-trust").inner_text()
    assert "rollout: on the test split" in trust and "78%" in trust and "IoU of 0.62" in trust
    assert "the method whose time stamps the run measured best" in trust
    assert "in the map above" in page.locator("#clip-summary").inner_text()  # its time stamps are that map's
    page.screenshot(path=str(tmp_path / "space.png"), full_page=True)


@pytest.mark.browser
def test_a_file_that_is_not_a_video_shows_a_readable_error(page, tmp_path: Path) -> None:
    fake = tmp_path / "not_a_video.mp4"
    fake.write_text("this is text, not a video\n")
    upload_and_translate(page, fake, tmp_path / "upload_failed.png")
    error = page.locator("#error-message")
    error.wait_for(state="visible", timeout=TRANSLATE_TIMEOUT_MS)
    text = error.inner_text()
    assert "not_a_video.mp4" in text and "cannot open it as a video" in text
    assert "Traceback" not in page.content()
    assert page.locator("#glosses textarea").input_value() == ""
    # Every piece of the message is drawn in the error red (Gradio's Markdown sets its own text colour).
    colours = error.evaluate("e => [...e.querySelectorAll('p, strong')].map(x => getComputedStyle(x).color)")
    assert colours and set(colours) == {"rgb(185, 28, 28)"}
    page.screenshot(path=str(tmp_path / "space_error.png"))


# -- the checks behind the page, called directly ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(model_dir: Path) -> Iterator[ModuleType]:
    """``app.py`` imported as a module, serving the tiny model."""
    previous = os.environ.get("SIGNATTENTION_MODEL")
    os.environ["SIGNATTENTION_MODEL"] = str(model_dir)
    spec = importlib.util.spec_from_file_location("space_app", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    module.load_model.cache_clear()
    del sys.modules[spec.name]
    if previous is None:
        os.environ.pop("SIGNATTENTION_MODEL")
    else:
        os.environ["SIGNATTENTION_MODEL"] = previous


def error_text(outputs: tuple) -> str:
    update = outputs[0]
    assert update["visible"] is True
    return update["value"]


def write_video(path: Path, frames: int, fps: float = 30.0, size: int = 64) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    for _ in range(frames):
        writer.write(np.zeros((size, size, 3), dtype=np.uint8))
    writer.release()
    return path


def test_half_copied_weights_are_blamed_not_the_clip(
    app: ModuleType, model_dir: Path, tmp_path: Path, monkeypatch
):
    """Issue 21: a model folder whose model.safetensors was cut off mid-copy; the user uploads a good clip."""
    broken = tmp_path / "half_copied"
    shutil.copytree(model_dir, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    monkeypatch.setenv("SIGNATTENTION_MODEL", str(broken))
    app.load_model.cache_clear()
    try:
        message = error_text(app.translate(str(POSE_FILE)))
    finally:
        app.load_model.cache_clear()
    shown("Space: half-copied model weights", message)
    assert POSE_FILE.name not in message  # the clip is fine


def test_a_missing_model_says_how_to_get_one(app: ModuleType, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIGNATTENTION_MODEL", str(tmp_path / "no_model_here"))
    app.load_model.cache_clear()
    try:
        with pytest.raises(
            app.UserFacingError, match=r"python -m hub_scripts\.reproduce.*SIGNATTENTION_MODEL"
        ) as caught:
            app.load_model()
    finally:
        app.load_model.cache_clear()
    # main() hands the message to the page, which shows it before anyone uploads anything.
    demo = app.build_demo(startup_error=str(caught.value))
    (banner,) = [
        block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "error-message"
    ]
    assert banner.visible is True and "no_model_here" in banner.value


def test_bad_inputs_get_messages_not_tracebacks(app: ModuleType, tmp_path: Path) -> None:
    assert "Upload a video or a .pose file first" in error_text(app.translate(None))
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert "empty.mp4 is empty (0 bytes)" in error_text(app.translate(str(empty)))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert "unsupported file type .txt" in error_text(app.translate(str(notes)))
    limit = app.frame_limit(app.load_model().feature_extractor)
    assert limit == 220 * 3  # max_frames sampled frames, 1 in sample_rate: all the model reads
    long_clip = write_video(tmp_path / "long.mp4", frames=limit + 1)
    assert (
        f"({limit + 1} frames): clips must be at most {limit} frames (22 s at 30 fps), all the model reads"
        in (error_text(app.translate(str(long_clip))))
    )
    nobody = write_video(tmp_path / "nobody.mp4", frames=6)
    assert "No person was found in any frame of nobody.mp4" in error_text(app.translate(str(nobody)))


def test_pose_files_are_translated_and_drawn_as_skeletons(app: ModuleType, monkeypatch) -> None:
    model = app.load_model().model
    decodings = []

    def counted_generate(*args, **kwargs):
        decodings.append(kwargs)
        return generate(*args, **kwargs)

    generate = model.generate
    monkeypatch.setattr(model, "generate", counted_generate)
    error, glosses, heatmap, strip, contribution, summary, scores, trust = app.translate(str(EXAMPLE_POSE))
    assert error["visible"] is False
    assert len(decodings) == 1  # the pipeline's: every plot reads its output or the glosses it decoded
    assert len(glosses.split()) == MAX_GLOSSES
    assert heatmap.ndim == 3 and contribution.ndim == 3
    assert len(strip) == MAX_GLOSSES and all(image.shape[0] == app.STRIP_HEIGHT for image, _ in strip)
    assert "| monotonicity |" in scores
    # the translation is the pipeline's: 97 frames, 1 in 3 read (frames 0, 3, ..., 96)
    assert (
        summary.startswith(f"{MAX_GLOSSES} glosses from 97 frames") and "the model read 33, 1 in 3" in summary
    )
    # The map is the pipeline's default (no measurement in the model folder: attention), the time stamps its.
    assert "Time stamps: the half-maximum span of each gloss in the map above." in summary
    # The tiny run scored no attribution method: the page says the map is unmeasured, not where glosses came from.
    assert "not measured" in trust and "hypothesis" in trust


def test_every_method_can_be_shown_with_time_stamps(app: ModuleType) -> None:
    pose = str(EXAMPLE_POSE)
    for method in ("occlusion", "integrated_gradients"):
        error, glosses, heatmap, strip, _, summary, *_ = app.translate(pose, method)
        assert error["visible"] is False and heatmap.ndim == 3
        # the pipeline gives time stamps from attention-based maps only: its default's, said so
        assert f"attention, the pipeline's default ({method} gives no time stamps of its own)" in summary
        assert len(strip) == MAX_GLOSSES
        for _, caption in strip:  # "1. GLOSS: peak 0.40 s, 0.30-0.60 s"
            start, end = (float(t) for t in caption.rsplit(", ", 1)[1].removesuffix(" s").split("-"))
            assert 0 <= start < end
    assert "Unknown attribution method 'saliency'" in error_text(app.translate(pose, "saliency"))


def test_the_page_states_how_often_the_method_is_right(app: ModuleType, tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    scores = {
        "attribution": {
            "attention": {"gold_peak_accuracy": 0.28, "timestamp_mean_iou": 0.1},
            "occlusion": {"gold_peak_accuracy": "no data"},
        },
        "baselines": {"diagonal_prior": {"gold_peak_accuracy": 0.79}},
        "best_method": "attention",
    }
    (run / "interpretability.json").write_text(json.dumps(scores), encoding="utf-8")
    monkeypatch.setenv("SIGNATTENTION_MODEL", str(run / "model"))
    app.load_benchmark.cache_clear()
    try:
        benchmark = app.load_benchmark()
        assert benchmark.best_method == "attention" and benchmark.accuracy == {"attention": 0.28}
        note = app.trust_note("attention", benchmark)
        assert "**28%**" in note and "79%" in note and "worse than a guess" in note and "0.10" in note
        assert "not measured" in app.trust_note("occlusion", benchmark)
        demo = app.build_demo()
        (dropdown,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "attribution-method"]
        # no model loaded: the pipeline's default without a measurement
        assert dropdown.value == "attention" and "no timestamp_reliability.json" in dropdown.label
    finally:
        app.load_benchmark.cache_clear()


def test_a_head_picked_on_validation_is_offered_shown_and_quoted(
    app: ModuleType, head_model_dir: Path, monkeypatch
) -> None:
    """A run whose best method is one head: the menu offers it next to its default, the pipeline's time-stamp
    method (rollout, the run's pick for time stamps); picked, the map is that head's, and the note quotes its test
    score and the split it was picked on."""
    from dataset_builder.extract import load_pose_file
    from modeling_signattention.interpretability import translate_with_attention
    from modeling_signattention.interpretability.attribution import attribute, sequences_from_ids

    monkeypatch.setenv("SIGNATTENTION_MODEL", str(head_model_dir))
    app.load_model.cache_clear()
    app.load_benchmark.cache_clear()
    try:
        demo = app.build_demo(app.load_model())
        (dropdown,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "attribution-method"]
        offered = [value for _, value in dropdown.choices]
        assert offered[:6] == list(app.METHODS) and offered[6:] == ["value_norm_head1"]  # rollout: in METHODS
        assert (
            dropdown.value == "rollout"
            and "best time-stamp IoU, picked on the validation split" in dropdown.label
        )

        path = EXAMPLE_POSE
        error, glosses, heatmap, strip, *_, trust = app.translate(str(path), "value_norm_head1")
        assert error["visible"] is False
        # The same map as head 1 read directly (not the mean over heads, which differs), drawn the same way.
        loaded = app.load_model()
        pose = load_pose_file(path)
        (translation,) = translate_with_attention(
            loaded.model, loaded.feature_extractor, loaded.tokenizer, [pose.landmarks]
        )
        batch = loaded.feature_extractor([pose.landmarks])
        sequences = sequences_from_ids([translation.token_ids], loaded.model.config)
        (head_map,) = attribute("value_norm", loaded.model, batch, sequences, head=1)
        (mean_map,) = attribute("value_norm", loaded.model, batch, sequences)
        assert not np.allclose(head_map, mean_map)
        assert np.array_equal(
            heatmap, app.attribution_heatmap(head_map, translation, pose.fps, "value_norm_head1")
        )
        for (_, caption), gloss, row in zip(strip, translation.glosses, head_map, strict=True):
            assert f"{gloss}: peak {translation.frame_indices[row.argmax()] / pose.fps:.2f} s," in caption

        assert "**value_norm_head1**, the run's pick (chosen on the validation split):" in trust
        assert "test split" in trust and "**82%**" in trust and "67%" in trust and "worse" not in trust
        assert "For time stamps the run measured **rollout** best" in trust
        assert "not measured" in app.trust_note(
            "occlusion", app.load_benchmark()
        )  # this run did not score it

        # A head the model does not have is a message, not a traceback.
        message = error_text(app.translate(str(path), "value_norm_head8"))
        assert (
            "Unknown attribution method 'value_norm_head8'" in message
            and "8 cross-attention heads" in message
        )
    finally:
        app.load_model.cache_clear()
        app.load_benchmark.cache_clear()


def test_the_page_says_what_the_model_is_and_is_not(app: ModuleType, model_dir: Path, tmp_path: Path) -> None:
    """From the run's eval_results.json: trained on synthetic poses, its WER; any clip gets a meaningless sentence."""
    from tiny_model import EVAL_RESULTS

    loaded = app.load_model()
    about = app.model_description(loaded)
    assert (
        "trained on synthetic MediaPipe Holistic poses" in about and "never seen a real person sign" in about
    )
    assert f"{EVAL_RESULTS['wer']:.1%}" in about and f"the {EVAL_RESULTS['num_sentences']} clips" in about
    assert "real signer of English" in about and "means nothing" in about
    glosses = len(loaded.tokenizer.get_vocab()) - len(loaded.tokenizer.all_special_tokens)
    assert f"only the {glosses} Greek Sign Language (GSL) glosses" in about

    shutil.copytree(model_dir, tmp_path / "model")  # the model without its run's results
    bare = app.model_description(
        replace(loaded, training_results=app.read_training_results(str(tmp_path / "model")))
    )
    assert "does not record" in bare and "synthetic" not in bare and "means nothing" in bare


def test_binds_to_loopback_unless_on_spaces(app: ModuleType, monkeypatch) -> None:
    for name in ("SPACE_ID", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert app.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("SPACE_ID", "someone/signattention")
    assert app.server_address() == ("0.0.0.0", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.2")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert app.server_address() == ("127.0.0.2", 7999)
