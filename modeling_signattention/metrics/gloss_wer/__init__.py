"""Local ``evaluate`` module: load it with ``evaluate.load`` on this folder (see ``gloss_wer.py``)."""
