"""Bring-up: the stack description (stack.py) and its renderers (launcher, launch_support)."""
