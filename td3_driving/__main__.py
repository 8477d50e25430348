"""`python -m td3_driving train|drive ...`: the same as `python -m td3_driving.apps.cli`."""

from td3_driving.apps.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
