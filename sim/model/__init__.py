"""Models the runner can replicate: the interface, and the built-in border-standoff model."""
