"""The one-line formatter every message about a failure goes through."""

from stylize.errors import ConfigError, Interrupted, WorkerStartError, one_line


def test_a_stylize_error_is_its_own_message():
    assert one_line(ConfigError("--alpha must be positive")) == "--alpha must be positive"
    assert one_line(ConfigError("as is."), with_type=True) == "as is."


def test_other_errors_are_folded_onto_one_line_without_a_final_stop():
    error = ValueError("first line.\n  second   line.\n")
    assert one_line(error) == "first line. second line"
    assert one_line(error, with_type=True) == "ValueError: first line. second line"


def test_an_error_without_text_is_named_by_its_type():
    assert one_line(KeyError()) == "KeyError"
    assert one_line(OSError(), with_type=True) == "OSError"


def test_coded_errors_carry_the_exit_code_they_were_given():
    assert Interrupted("stopped", 143).exit_code == 143
    error = WorkerStartError("no GPU", 2)
    assert (str(error), error.exit_code) == ("no GPU", 2)
