"""User errors: the library names a bad argument as its own parameter; the stage or CLI command
that passed the value renames it to what the user typed; either way it ends as one line and
exit status 2."""
import pytest

from ssl_mm.errors import ArgumentError, ParamsError, exit_on_user_error, named_as


def test_the_caller_renames_a_library_argument_to_the_users_name():
    with pytest.raises(ArgumentError) as info:
        with named_as(ratio='--ratio', round_to='--round-to'):
            raise ArgumentError('ratio', 0.99, 'would empty a layer: use {name} <= 0.9')
    assert str(info.value) == '--ratio=0.99 would empty a layer: use --ratio <= 0.9'
    assert isinstance(info.value, ParamsError) and isinstance(info.value, ValueError)
    # Other arguments keep the library's name; other errors pass untouched.
    with pytest.raises(ArgumentError, match="^scope='x' is unknown$"):
        with named_as(ratio='--ratio'):
            raise ArgumentError('scope', 'x', 'is unknown')
    with pytest.raises(KeyError):
        with named_as(ratio='--ratio'):
            raise KeyError('ratio')


def test_a_user_error_ends_as_one_line_and_status_2(capsys):
    @exit_on_user_error
    def main():
        with named_as(ratio='prune.ratios'):
            raise ArgumentError('ratio', 1.5, 'is outside (0, 1)')

    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == 'error: prune.ratios=1.5 is outside (0, 1)\n'
