# web/examples/greet -- a tiny pure-Python package; make web zips it as
# examples/greet.zip for packages.html to mount.
"""Greetings."""


def hello(text):
    """text, shouted."""
    return text.upper() + "!"
