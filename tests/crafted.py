"""Crafted (malicious) checkpoint content for the tests of ssl_mm/safe_checkpoint.py."""


class Payload:
    """Pickles as a call of ``function(*args)``: what a crafted checkpoint runs on a full unpickle."""

    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args
