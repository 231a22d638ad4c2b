"""GSL pose data: extraction, the dataset builder, the synthetic corpus, and reading a built dataset back."""

from pathlib import Path

# Real clips shipped with the package (package_data), their attribution in ATTRIBUTION.md next to them.
EXAMPLES = Path(__file__).parent / "data" / "examples"
# A real signer (58 frames, 540x720): the Space's example clip, and the tests' and benchmarks' video.
EXAMPLE_VIDEO = EXAMPLES / "signer_test_video.mp4"
# pose-format's own MediaPipe Holistic file (97 frames, 320x240, 25 fps, world landmarks too): the README's and the
# benchmarks' pose clip, and the tests' real .pose file.
EXAMPLE_POSE = EXAMPLES / "holistic_example.pose"
# The folder of a Space (``push_to_hub --repo-type space``) its example clips go to: the packages go without data.
SPACE_EXAMPLES = "examples"
