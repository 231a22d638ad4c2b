"""GSL pose data: extraction, the dataset builder, the synthetic corpus, and reading a built dataset back."""

from pathlib import Path

# A real signing clip shipped with the package (attribution next to it): the Space's example and a test fixture.
EXAMPLE_VIDEO = Path(__file__).parent / "data" / "examples" / "signer_test_video.mp4"
