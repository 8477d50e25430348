"""Entry points: the train/drive CLI, the evaluation protocol, the in-process trainer."""
