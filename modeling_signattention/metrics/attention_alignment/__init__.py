"""Local ``evaluate`` module: load it with ``evaluate.load`` on this folder (see ``attention_alignment.py``)."""
