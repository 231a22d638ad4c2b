"""The suite runs offline, as CI does: nothing may reach the Hub, and Gradio may not phone home."""

import os

for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE"):
    os.environ.setdefault(variable, "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
