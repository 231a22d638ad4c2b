"""SignAttention demo: a signing video (or a MediaPipe ``.pose`` file) in, glosses and which frames they credit out.

For one clip the page shows the predicted GSL glosses, a gloss-by-time map of one attribution method (by default the
one the pipeline gives time stamps with, the run's time-stamp pick, which may be one cross-attention head; or any
other the user switches to) with each gloss's time stamp, the video frames (or pose-format skeleton drawings) at each
gloss's peak, how much of each decoding step came from the video versus the previous glosses, and the paper's
alignment scores for this clip. The clip is decoded once, by the pipeline (``return_timestamps=True``,
``return_frame_weights=True``): the glosses, time stamps and map are its output, and the other plots read the
attention of those glosses in one teacher-forced pass. Next to every map the page
says how often that method's peak fell inside the gloss's true frames on the synthetic benchmark
(``interpretability.json`` of the run, next to the model folder or inside it), and against the diagonal prior that
never looks at the model: without that number a map is a hypothesis, not "where the gloss came from".

Run it from the repository (after ``python -m hub_scripts.reproduce``, or with any model)::

    SIGNATTENTION_MODEL=outputs/reproduce/si/model python hub_scripts/space/app.py

``SIGNATTENTION_MODEL`` is a model folder or a Hub id (default ``outputs/reproduce/si/model`` under the repository
root). The same file is the Space's ``app.py``: ``python -m hub_scripts.push_to_hub --repo-type space`` puts a copy
of the project packages and the example clip next to it, which is how both layouts are told apart below. It binds
to 127.0.0.1 unless ``GRADIO_SERVER_NAME`` says otherwise or it runs on Spaces (``SPACE_ID`` set: 0.0.0.0).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:
    import cv2
    import gradio as gr
    import mediapipe  # noqa: F401  (the Space reads videos with it, through dataset_builder.extract)
except ImportError as error:
    raise ImportError(
        f"{error.name} is not installed: the Space needs the 'space' extra, pip install 'signattention[space]'"
    ) from error

from pose_format.pose_visualizer import PoseVisualizer

from dataset_builder import EXAMPLE_POSE, EXAMPLE_VIDEO, EXAMPLES, SPACE_EXAMPLES
from dataset_builder.extract import POSE_SUFFIXES, VIDEO_SUFFIXES, extract_clip, load_pose_file
from dataset_builder.pose_io import to_pose
from modeling_signattention import TASK, SignAttentionFeatureExtractor, SignLanguageTranslationPipeline
from modeling_signattention.attention_maps import head_method, is_timestamp_method, split_head_method
from modeling_signattention.holistic_video import (
    GSL_FPS,
    ExtractedPose,
    announced_frames,
    create_holistic,
    open_video,
    video_fps,
)
from modeling_signattention.interpretability import (
    Translation,
    compute_attention_alignment,
    compute_decoder_contributions,
    read_attention,
)
from modeling_signattention.interpretability.attribution import (
    HEAD_METHODS,
    METHODS,
    attribute,
    check_method,
    sequences_from_ids,
)
from modeling_signattention.interpretability.figures import (
    contributions_figure,
    cross_attention_figure,
    to_rgb_array,
)
from modeling_signattention.interpretability.results import MethodPick, read_results
from modeling_signattention.interpretability.schema import (
    ALIGNMENT_SCORES,
    DATA_SOURCES,
    EVAL_RESULTS_FILE,
    INTERPRETABILITY_FILE,
    VIDEO_SHARE,
)
from modeling_signattention.loading import load_pretrained, looks_like_hub_id
from modeling_signattention.time_stamps import default_timestamp_method

logger = logging.getLogger("signattention.space")

APP_DIR = Path(__file__).resolve().parent
IN_SPACE_LAYOUT = (APP_DIR / "modeling_signattention").is_dir()
ROOT = APP_DIR if IN_SPACE_LAYOUT else APP_DIR.parents[1]
# push_to_hub copies the packages without their data, and the example clips into SPACE_EXAMPLES.
EXAMPLES_DIR = APP_DIR / SPACE_EXAMPLES if IN_SPACE_LAYOUT else EXAMPLES
EXAMPLE_CLIP, EXAMPLE_POSE_FILE = EXAMPLES_DIR / EXAMPLE_VIDEO.name, EXAMPLES_DIR / EXAMPLE_POSE.name
DEFAULT_MODEL = ROOT / "outputs" / "reproduce" / "si" / "model"  # the main job's paper setting

MAX_UPLOAD = "50mb"
STRIP_HEIGHT = 240
# Gradio's Markdown sets its own text colour on every element inside, so the red must reach them all.
PAGE_CSS = """
#error-message { background: #fef2f2; border: 1px solid #fca5a5; border-radius: 6px; padding: 0.4em 0.8em; }
#error-message, #error-message * { color: #b91c1c; }
#model-description { background: #fffbeb; border: 1px solid #fcd34d; border-radius: 6px; padding: 0.4em 0.8em; }
"""


# The scores one clip has (no gold spans on an upload); labels and meanings are the run's (schema).
CLIP_SCORES = ("diagonality", "monotonicity", "cluster_score", "cluster_fraction")


class UserFacingError(Exception):
    """A problem with the input or the setup, worded for the person using the page."""


@dataclass
class LoadedModel:
    model: Any
    feature_extractor: Any
    tokenizer: Any
    source: str
    training_results: dict[str, Any] | None  # eval_results.json of its training run, when it can be found
    # pipeline("sign-language-translation") over the three above: the page's glosses, time stamps and maps
    translator: Any
    # The method the pipeline gives time stamps with when none is asked for, and why: the page's default too.
    default_method: tuple[str, str]


def model_source() -> str:
    return os.environ.get("SIGNATTENTION_MODEL") or str(DEFAULT_MODEL)


@functools.cache
def load_model() -> LoadedModel:
    """Load the model once per process (every request reuses it); failures are not cached, so a model that
    appears later is picked up by the next click."""
    source = model_source()
    if not Path(source).is_dir() and not looks_like_hub_id(source):
        raise UserFacingError(
            f"No model at {source}. Train one with `python -m hub_scripts.reproduce` (it writes "
            f"{DEFAULT_MODEL.relative_to(ROOT)}), or set SIGNATTENTION_MODEL to a model folder or a Hub model id."
        )
    try:
        model, feature_extractor, tokenizer = load_pretrained(source)
    except OSError as error:  # not on the Hub, not cached while offline, or an incomplete folder
        raise UserFacingError(f"Cannot load the model {source}: {error}") from error
    from transformers import pipeline

    translator = pipeline(
        TASK,
        model=model,
        tokenizer=tokenizer,
        feature_extractor=feature_extractor,
        pipeline_class=SignLanguageTranslationPipeline,
    )
    default_method = default_timestamp_method(translator.timestamp_reliability())
    return LoadedModel(
        model, feature_extractor, tokenizer, source, read_training_results(source), translator, default_method
    )


def read_training_results(source: str) -> dict[str, Any] | None:
    """``eval_results.json`` of the model: in its folder (``hub_scripts.train``), next to it (a reproduce run), or in
    its Hub repository (``hub_scripts.push_to_hub``); None when there is none."""
    from transformers.utils import cached_file

    if Path(source).is_dir():
        paths = [Path(source) / EVAL_RESULTS_FILE, Path(source).parent / EVAL_RESULTS_FILE]
        path = next((path for path in paths if path.is_file()), None)
    else:
        try:
            path = cached_file(source, EVAL_RESULTS_FILE, _raise_exceptions_for_missing_entries=False)
        except OSError:  # offline and not cached
            path = None
    return json.loads(Path(path).read_text(encoding="utf-8")) if path else None


def model_description(loaded: LoadedModel) -> str:
    """What the model is and is not, in the page's words: any clip gets a fluent sentence of the model's glosses,
    so a visitor signing English, or not signing at all, must learn from the page that the sentence means nothing."""
    results = loaded.training_results or {}
    source = results.get("data_source")
    trained_on = (
        DATA_SOURCES[source][1]
        if source in DATA_SOURCES
        else "data its folder does not record (no eval_results.json)."
    )
    glosses = len(loaded.tokenizer) - len(loaded.tokenizer.all_special_tokens)
    score = (
        f" On the {results['num_sentences']} clips of its own test split ({results.get('config', '?')}) its word "
        f"error rate is {results['wer']:.1%}."
        if isinstance(results.get("wer"), float) and "num_sentences" in results
        else ""
    )
    unseen = (
        " It has never seen a real person sign, so expect wrong glosses on real GSL videos too."
        if source == "synthetic"
        else ""
    )
    return (
        f"**What this model is:** a research model for seeing where a sign translation transformer looks. It was "
        f"trained on {trained_on} It writes only the {glosses} Greek Sign Language (GSL) glosses of its training "
        f"sentences.{score}\n\n"
        "**What it is not:** an interpreter, or a judge of whether a clip is GSL at all. Every clip gets a sentence "
        "of those glosses, with the same confidence: a real signer of English (or of any other sign language), or "
        f"someone who is not signing, gets a fluent-looking Greek gloss sentence that means nothing.{unseen}"
    )


def frame_limit(feature_extractor: Any) -> int:
    """The longest clip the page accepts: what the model reads (``max_frames`` sampled frames, 1 in
    ``sample_rate``), so no clip is cut in silence and the heatmap covers the whole clip."""
    return feature_extractor.max_frames * feature_extractor.sample_rate


def limit_text(max_frames: int) -> str:
    return f"at most {max_frames} frames ({max_frames / GSL_FPS:.0f} s at {GSL_FPS:g} fps)"


@dataclass
class Benchmark:
    """What the run measured for each method on the synthetic benchmark (empty when no run results are found).

    The run picks its best method (which may be one cross-attention head, e.g. ``value_norm_head1``) on one split,
    by gold peak accuracy, and a method for time stamps by their IoU with the gold spans; every score here is on the
    split it then evaluated (``split``), so a pick made on that same split flatters its score, and the page says so.
    """

    best_method: str | None
    accuracy: dict[str, float]  # method -> gold peak accuracy on ``split``
    diagonal_prior: float | None
    timestamp_iou: dict[str, float]
    split: str | None = None  # the split every score above was measured on
    pick: MethodPick | None = None  # where best_method was picked (None: no run results)
    timestamp_method: str | None = None  # the method whose time stamps matched the gold spans best


@functools.cache
def load_benchmark() -> Benchmark:
    """The leaderboard of the run that trained the model: ``interpretability.json`` in or next to the model folder."""
    source = Path(model_source())
    for path in (source / INTERPRETABILITY_FILE, source.parent / INTERPRETABILITY_FILE):
        run = read_results(path)
        if run is not None:
            return Benchmark(
                known_method(run.pick.method),
                run.measured("gold_peak_accuracy"),
                run.prior_accuracy,
                run.measured("timestamp_mean_iou"),
                run.split,
                run.pick,
                known_method(run.pick.timestamp_method),
            )
    return Benchmark(None, {}, None, {})


def known_method(name: Any) -> str | None:
    """``name`` if it names an attribution method (one of :data:`METHODS` or one head of :data:`HEAD_METHODS`),
    else None: a run written by another version of the project must not put an unknown name in the menu."""
    if not isinstance(name, str):
        return None
    try:
        check_method(name)
    except ValueError:
        return None
    return name


def method_choices(benchmark: Benchmark, default: str) -> list[str]:
    """The menu: every method, then the heads the run picked and the pipeline's default (there are too many heads
    to list them all)."""
    picked = [default, benchmark.best_method, benchmark.timestamp_method]
    return [*METHODS, *dict.fromkeys(name for name in picked if name is not None and name not in METHODS)]


def check_page_method(method: str, num_heads: int) -> None:
    """A UserFacingError unless ``method`` is an attribution method this model has (a head it has, for a head
    method)."""
    head = split_head_method(method)[1]
    if known_method(method) is None or (head is not None and head >= num_heads):
        raise UserFacingError(
            f"Unknown attribution method {method!r}; pick one of {', '.join(METHODS)}, or one of this model's "
            f"{num_heads} cross-attention heads of {' or '.join(HEAD_METHODS)} "
            f"(e.g. {head_method(HEAD_METHODS[0], 0)})."
        )


def trust_note(method: str, benchmark: Benchmark) -> str:
    """One sentence on how far this method's map can be trusted, from the run's measurements."""
    accuracy = benchmark.accuracy.get(method)
    if accuracy is None:
        why = "its run scored other methods" if benchmark.accuracy else "no gold spans in its run"
        return (
            f"**{method}**: not measured for this model ({why}), so the map below is a hypothesis "
            "about which frames the glosses came from, not a finding."
        )
    prior = benchmark.diagonal_prior
    comparison = (
        f" A diagonal prior that never looks at the model scores {prior:.0%}"
        + (", so this map is worse than a guess." if accuracy < prior else ".")
        if prior is not None
        else ""
    )
    # The page's time stamps are the pipeline's: this method's own only when the pipeline can read its map.
    iou = benchmark.timestamp_iou.get(method) if is_timestamp_method(method) else None
    stamps = (
        f" Its time stamps overlap the true spans with a mean IoU of {iou:.2f}." if iou is not None else ""
    )
    measured_on = f" {benchmark.split} split of the" if benchmark.split else ""
    return (
        f"**{method}**{picked_on(method, benchmark)}: on the{measured_on} synthetic benchmark its peak lies inside "
        f"the gloss's true frames for **{accuracy:.0%}** of glosses.{comparison}{stamps}"
        f"{timestamp_pick(method, benchmark)}"
    )


def picked_on(method: str, benchmark: Benchmark) -> str:
    """Where the run picked ``method`` as its best, when it did: a pick made on the clips it was then scored on
    flatters its score, and the page must say which it was."""
    if method != benchmark.best_method or benchmark.pick is None:
        return ""
    return f", the run's pick (chosen on {benchmark.pick.picked_on})"


def timestamp_pick(method: str, benchmark: Benchmark) -> str:
    """One line on the time stamps in the frame strip: they come from the map shown, and the run measured one
    method best for them, not always the best method."""
    if benchmark.timestamp_method is None:
        return ""
    if method == benchmark.timestamp_method:
        return " It is the method whose time stamps the run measured best."
    return f" For time stamps the run measured **{benchmark.timestamp_method}** best; pick it for those."


@functools.cache
def holistic() -> Any:
    """One MediaPipe Holistic graph for the process: building it costs more than a short clip."""
    return create_holistic()


# -- input -----------------------------------------------------------------------------------------------------------
def read_clip(path: Path, max_frames: int) -> ExtractedPose:
    """Poses of an uploaded video or pose file, after the checks that keep a bad upload from costing minutes."""
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES and suffix not in POSE_SUFFIXES:
        raise UserFacingError(
            f"{name}: unsupported file type {suffix or '(none)'}. Upload a video "
            f"({', '.join(sorted(VIDEO_SUFFIXES))}) or a MediaPipe Holistic pose file ({', '.join(POSE_SUFFIXES)})."
        )
    if path.stat().st_size == 0:
        raise UserFacingError(f"{name} is empty (0 bytes).")
    try:
        if suffix in POSE_SUFFIXES:
            pose = load_pose_file(path)
        else:
            check_video_length(path, max_frames)
            pose = extract_clip(path, holistic=holistic())
    except ValueError as error:
        raise UserFacingError(str(error).replace(str(path), name)) from error
    if len(pose.landmarks) > max_frames:
        raise UserFacingError(
            f"{name} has {len(pose.landmarks)} frames: clips must be {limit_text(max_frames)}, "
            "all the model reads."
        )
    if pose.no_person:
        raise UserFacingError(
            f"No person was found in any frame of {name}. Film one signer facing the camera, upper body in view."
        )
    return pose


def check_video_length(path: Path, max_frames: int) -> None:
    """Refuse long videos from their header, before MediaPipe spends seconds per second of video on them."""
    try:
        capture = open_video(path)
    except ValueError as error:
        raise UserFacingError(f"{path.name}: {error}") from error
    try:
        frames, fps = announced_frames(capture), video_fps(capture) or GSL_FPS
    finally:
        capture.release()
    if frames > max_frames:
        raise UserFacingError(
            f"{path.name} is {frames / fps:.1f} s long ({frames} frames): clips must be "
            f"{limit_text(max_frames)}, all the model reads."
        )


# -- figures (drawn by the interpretability layer, as in the report) -------------------------------------------------
def numbered(glosses: list[str]) -> list[str]:
    return [f"{k + 1}. {gloss}" for k, gloss in enumerate(glosses)]


def attribution_heatmap(
    clip_map: np.ndarray, translation: Translation, fps: float, method: str
) -> np.ndarray:
    """Glosses x time for one method's map, each row scaled to its peak (x = peak); the time stamps are in the
    frame strip below."""
    figure = cross_attention_figure(
        clip_map / clip_map.max(axis=1, keepdims=True),
        numbered(translation.glosses),
        title=f"{method}: frames credited for each gloss, scaled to its peak (x = peak)",
        times=translation.frame_indices / fps,
    )
    return to_rgb_array(figure)


def translate_clip(
    loaded: LoadedModel, pose: ExtractedPose, name: str, method: str
) -> tuple[dict[str, Any], Translation, np.ndarray]:
    """The clip through the pipeline once: its glosses, their time stamps and the map those were read from (of
    ``method`` when the pipeline reads it, :data:`TIMESTAMP_METHODS`, else of its default); then the attention of
    those glosses (one teacher-forced pass, no second decoding) and ``method``'s map."""
    chosen = {"timestamp_method": method} if is_timestamp_method(method) else {}
    try:
        result = loaded.translator(
            pose.landmarks, return_timestamps=True, return_frame_weights=True, fps=pose.fps, **chosen
        )
    except ValueError as error:  # the feature extractor refuses a clip without a usable body, by name
        raise UserFacingError(f"{name}: {str(error).rsplit('the pose: ', 1)[-1]}") from error
    glosses = [chunk["gloss"] for chunk in result["chunks"]]
    if not glosses:
        raise UserFacingError(f"The model predicted no glosses for {name}.")
    token_ids = loaded.tokenizer.convert_tokens_to_ids(glosses)
    (translation,) = read_attention(
        loaded.model, loaded.feature_extractor, loaded.tokenizer, [pose.landmarks], [token_ids]
    )
    if chosen:
        return result, translation, result["frame_weights"]
    batch = loaded.feature_extractor([pose.landmarks])
    (credit,) = attribute(method, loaded.model, batch, sequences_from_ids([token_ids], loaded.model.config))
    if not (credit.sum(axis=1) > 0).all():
        raise UserFacingError(f"{method} credits no frame for some gloss of this clip; pick another method.")
    return result, translation, credit


def contribution_plot(translation: Translation) -> tuple[np.ndarray, float]:
    """Per decoding step, the video's share vs the previous glosses' share; also the mean video share."""
    contributions = compute_decoder_contributions([translation.self_block], [translation.cross_block])
    figure = contributions_figure(
        contributions["by_step"],
        "What each decoding step drew on",
        step_labels=numbered(translation.glosses),
    )
    return to_rgb_array(figure), float(contributions["norm_ratio"])


def peak_frames(
    translation: Translation,
    clip_map: np.ndarray,
    chunks: list[dict[str, Any]],
    pose: ExtractedPose,
    video: Path | None,
) -> list[tuple[np.ndarray, str]]:
    """The clip frame at each gloss's peak in the map (video frame, or a skeleton drawing for pose input), captioned
    with the gloss's time stamp from the pipeline (``chunks``)."""
    strip = []
    for k, (gloss, row, chunk) in enumerate(zip(translation.glosses, clip_map, chunks, strict=True)):
        start, end = chunk["timestamp"]
        frame = int(translation.frame_indices[row.argmax()])
        image = read_video_frame(video, frame) if video is not None else None
        if image is None:
            image = draw_skeleton(pose, frame)
        scale = STRIP_HEIGHT / image.shape[0]
        image = cv2.resize(image, (round(image.shape[1] * scale), STRIP_HEIGHT), interpolation=cv2.INTER_AREA)
        strip.append((image, f"{k + 1}. {gloss}: peak {frame / pose.fps:.2f} s, {start:.2f}-{end:.2f} s"))
    return strip


def read_video_frame(video: Path, index: int) -> np.ndarray | None:
    try:
        capture = open_video(video)
    except ValueError:
        return None
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
    finally:
        capture.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None


def draw_skeleton(pose: ExtractedPose, index: int) -> np.ndarray:
    """One frame of the clip's poses on white, drawn by pose-format's ``PoseVisualizer`` in the clip's own
    width x height (RGB)."""
    frame = slice(index, index + 1)
    skeleton = to_pose(
        pose.landmarks[frame],
        pose.confidence[frame],
        fps=pose.fps,
        width=pose.width or 640,
        height=pose.height or 480,
    )
    (image,) = PoseVisualizer(skeleton).draw(background_color=(255, 255, 255), max_frames=1)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def scores_table(translation: Translation, video_share: float) -> str:
    """The paper's alignment scores for this one clip, as a Markdown table with what each one means."""
    scores = compute_attention_alignment([translation.cross_attention])
    rows = ["### Alignment scores of this clip", "", "| score | value | meaning |", "|---|---|---|"]
    shown = {name: (scores.get(name), ALIGNMENT_SCORES[name].meaning) for name in CLIP_SCORES}
    shown["video_share"] = (video_share, VIDEO_SHARE.meaning)
    for name, (value, meaning) in shown.items():
        value = "n/a (needs 2+ glosses)" if value is None else f"{value:.3f}"
        rows.append(f"| {name} | {value} | {meaning} |")
    return "\n".join(rows)


# -- the page --------------------------------------------------------------------------------------------------------
def translate(upload: str | None, method: str | None = None) -> tuple:
    """The click handler: every output, or an error message with all other outputs cleared. ``method`` is the
    attribution method whose map is shown (default: the pipeline's time-stamp method for this model)."""
    empty = (None, None, None, None, "", "")
    if not upload:
        return (error_update("Upload a video or a .pose file first (or pick the example below)."), "", *empty)
    path = Path(upload)
    try:
        loaded = load_model()
        method = method or loaded.default_method[0]
        check_page_method(method, loaded.model.config.num_heads)
        pose = read_clip(path, frame_limit(loaded.feature_extractor))
        result, translation, credit = translate_clip(loaded, pose, path.name, method)
        heatmap = attribution_heatmap(credit, translation, pose.fps, method)
        contribution, video_share = contribution_plot(translation)
        video = path if path.suffix.lower() in VIDEO_SUFFIXES else None
        strip = peak_frames(translation, credit, result["chunks"], pose, video)
        scores = scores_table(translation, video_share)
    except UserFacingError as error:
        return (error_update(str(error)), "", *empty)
    except Exception as error:  # a bug, not bad input: full trace in the log, one line on the page
        logger.exception("translating %s failed", path.name)
        return (
            error_update(f"Translating {path.name} failed ({type(error).__name__}: {error})."),
            "",
            *empty,
        )
    return (
        gr.update(value="", visible=False),
        result["glosses"],
        heatmap,
        strip,
        contribution,
        clip_summary(result, pose, loaded.feature_extractor.sample_rate, method),
        scores,
        trust_note(method, load_benchmark()),
    )


def clip_summary(result: dict[str, Any], pose: ExtractedPose, sample_rate: int, method: str) -> str:
    """What the model read of the clip, and which map the time stamps under the frames come from."""
    frames, stamps = result["num_frames"], result["timestamp_info"]["method"]
    source = (
        "the map above"
        if stamps == method
        else f"{stamps}, the pipeline's default ({method} gives no time stamps of its own)"
    )
    return (
        f"{len(result['chunks'])} glosses from {frames} frames ({frames / pose.fps:.1f} s; the model read "
        f"{result['frames_used']}, 1 in {sample_rate}), chosen among the model's GSL glosses whatever the clip "
        f"shows (see *What it is not* above). Time stamps: the half-maximum span of each gloss in {source}."
    )


def error_update(message: str) -> dict:
    return gr.update(value=f"**Could not translate:** {message}", visible=True)


def build_demo(loaded: LoadedModel | None = None, startup_error: str | None = None) -> gr.Blocks:
    """The page for the ``loaded`` model: its frame limit, what it is and is not (``model_description``), and the
    method the pipeline gives its time stamps with as the menu's default. Without one (it could not be loaded),
    a default feature extractor's limit and the pipeline's default without measurements; ``startup_error`` (e.g. no
    model) is shown from the start instead of after the first click."""
    feature_extractor = SignAttentionFeatureExtractor() if loaded is None else loaded.feature_extractor
    max_frames = frame_limit(feature_extractor)
    default, chosen_by = default_timestamp_method(None) if loaded is None else loaded.default_method
    # analytics off: the demo must run on closed networks and has no business phoning home
    with gr.Blocks(
        title="SignAttention: where does a sign translation model look?", analytics_enabled=False
    ) as demo:
        gr.Markdown(
            "# SignAttention demo\n"
            "Upload a video of one person signing Greek Sign Language (or a MediaPipe Holistic `.pose` file), "
            f"{limit_text(max_frames)}. MediaPipe extracts the body and hand poses, a tiny transformer translates them "
            "to glosses, and the plots show which moments of the clip an attribution method credits for each gloss "
            "([SignAttention, arXiv:2410.14506](https://arxiv.org/abs/2410.14506)). How often each method is right "
            "was measured on a synthetic benchmark with known gloss timing; the number is shown with the map. "
            "This is a research model for studying attention, not an interpreter."
        )
        if loaded is not None:
            gr.Markdown(model_description(loaded), elem_id="model-description")
        benchmark = load_benchmark()
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="Video or .pose file", elem_id="clip-upload")
                method = gr.Dropdown(
                    method_choices(benchmark, default),
                    value=default,
                    label=f"Attribution method (default: {default}, the pipeline's time-stamp method, chosen by {chosen_by})",
                    elem_id="attribution-method",
                )
                button = gr.Button("Translate", variant="primary", elem_id="translate-button")
                examples = [[str(path)] for path in (EXAMPLE_CLIP, EXAMPLE_POSE_FILE) if path.is_file()]
                if examples:
                    gr.Examples(
                        examples,
                        inputs=[upload],
                        label="Examples: a real signer's video (58 frames), a MediaPipe .pose file (97 frames)",
                    )
            with gr.Column(scale=2):
                error = gr.Markdown(
                    f"**Could not start:** {startup_error}" if startup_error else "",
                    visible=startup_error is not None,
                    elem_id="error-message",
                )
                glosses = gr.Textbox(label="Predicted glosses", interactive=False, elem_id="glosses")
                summary = gr.Markdown(elem_id="clip-summary")
        trust = gr.Markdown(elem_id="method-trust")
        # The plots carry their own titles; a floating label would cover them.
        heatmap = gr.Image(
            label="Attribution map (glosses x time)",
            show_label=False,
            elem_id="attention-heatmap",
            format="png",
        )
        strip = gr.Gallery(
            label="Frames at each gloss's peak in the map, with its time stamp",
            elem_id="peak-frames",
            columns=6,
            height=300,
            object_fit="contain",
        )
        contribution = gr.Image(
            label="Video vs previous glosses, per decoding step",
            show_label=False,
            elem_id="contribution-plot",
            format="png",
        )
        scores = gr.Markdown(elem_id="alignment-scores")
        button.click(
            translate,
            inputs=[upload, method],
            outputs=[error, glosses, heatmap, strip, contribution, summary, scores, trust],
        )
    return demo


def server_address() -> tuple[str, int]:
    """Loopback locally; what the platform asks for on Spaces (``GRADIO_SERVER_*`` win when set)."""
    default_host = "0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1"
    host = os.environ.get("GRADIO_SERVER_NAME", default_host)
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    return host, port


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    loaded, startup_error = None, None
    try:
        loaded = load_model()
        logger.info("model loaded from %s", loaded.source)
    except UserFacingError as error:  # keep serving: the page says what to do (and retries on every click)
        startup_error = str(error)
        logger.error("%s", error)
    host, port = server_address()
    demo = build_demo(loaded, startup_error)
    demo.queue(default_concurrency_limit=1)  # one clip at a time: MediaPipe and the CPU are shared
    demo.launch(
        server_name=host,
        server_port=port,
        max_file_size=MAX_UPLOAD,
        allowed_paths=[str(EXAMPLES_DIR)],
        ssr_mode=False,
        css=PAGE_CSS,
        theme=gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["monospace"]),
    )


if __name__ == "__main__":
    main()
