"""Entry points: the commands a user runs (python -m td3_driving.apps.<name>)."""
