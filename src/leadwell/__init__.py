"""leadwell: turn a flood of contacts into qualified sales conversations."""

__version__ = "0.1.0"
