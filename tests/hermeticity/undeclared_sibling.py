"""Sits next to the hermeticity tests but is declared by no target: no test may import it."""

SECRET = "a test imported a file it did not declare"
