"""digitnet: handwritten-digit networks, their "not a digit" verdict, and the web page that serves them."""


class DigitnetWarning(UserWarning):
    """A warning from digitnet itself. Under pytest it is an error (pyproject.toml's filterwarnings): the project's
    tests never pass while its own code warns."""
