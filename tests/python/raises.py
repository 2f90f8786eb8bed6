"""raises(status, *words): pytest.raises for an anchorassign.Error whose status, message
words and str() form are checked when the block ends (shared by the binding's tests)."""
import pytest

import anchorassign as aa


class _Raises:
    def __init__(self, status, words):
        self.status, self.words = status, words

    def __enter__(self):
        self.cm = pytest.raises(aa.Error)
        self.info = self.cm.__enter__()
        return self.info

    def __exit__(self, *exc):
        handled = self.cm.__exit__(*exc)
        err = self.info.value
        assert err.status == self.status, (err.status, err.message)
        for w in self.words:
            assert w in err.message, (w, err.message)
        assert str(err).startswith(self.status.c_name + ": ")
        return handled


def raises(status, *words):
    return _Raises(status, words)
