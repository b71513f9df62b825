"""Where checks that need torch run the submission's models (``--device``).

Names only, so that the command line can offer them without importing the engine;
``engine.resolve_device`` decides what ``auto`` means on this machine.
"""
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_DEVICE = "auto"
