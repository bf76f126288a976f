"""The one way untrusted text reaches a page: ``plain`` (literal text in any Markdown context) and
``rich`` (model output as Markdown: math rendered, every other character literal). Neither can produce image syntax. The browser test
(tests/test_hostile_text.py) renders the same corpus in Chromium and watches the network."""
import pytest

from app_pages.common import plain, rich


def corpus(host: str) -> list[str]:
    u = f"http://{host}"
    return [
        f"![inline]({u}/inline.png)",
        f"![a [nested] alt]({u}/nested.png)",
        f"![a \\] escaped]({u}/escaped.png)",
        f"![`code` in alt]({u}/code.png)",
        f"![x](<{u}/angle.png>)",
        f"[ref]: {u}/ref.png\n![ref]",
        f"![r2][r2]\n\n[r2]: {u}/ref2.png",
        f"![collapsed][]\n\n[collapsed]: {u}/collapsed.png",
        f"&#33;[entity]({u}/entity.png)",
        f"<img src=\"{u}/html.png\" onerror=\"alert('img')\">",
        "<script>alert('script')</script>",
        f"<iframe src=\"{u}/iframe\"></iframe>",
        "<svg onload=\"alert('svg')\"></svg>",
        f"<style>@import url({u}/style.css);</style>",
        f"$\\includegraphics{{{u}/katex.png}}$",
        f"$$\\href{{{u}/href}}{{x}}$$",
        "[click](javascript:alert('link'))",
        f"<{u}/autolink.png>",
    ]



@pytest.mark.parametrize("s", corpus("evil.example"))
def test_no_image_can_come_out(s):
    for out in (plain(s), rich(s)):
        assert "![" not in out
    assert "<" not in plain(s).replace("\\<", "")         # every '<' escaped: no HTML either


@pytest.mark.parametrize("text, shown", [
    ("**bold** `code` $x$", "\\*\\*bold\\*\\* \\`code\\` \\$x\\$"),
    ("a\nb\r\nc", "a b  c"),
    (None, ""),
    (204, "204"),
    ("10{,}000", "10\\{\\,\\}000"),
])
def test_plain_is_literal(text, shown):
    assert plain(text) == shown


@pytest.mark.parametrize("text, out", [
    ("see \\(x^2\\) and \\[y\\]", "see $x^2$ and $$y$$"),
    ("look ![pic](http://evil.example/x.png)", "look \\!\\[pic\\]\\(http\\:\\/\\/evil\\.example\\/x\\.png\\)"),
    ("\\![escaped bang](u)", "\\\\\\!\\[escaped bang\\]\\(u\\)"),
    ("So the answer is \\boxed{204}.", "So the answer is \\\\boxed{204}\\."),
    ("$![pic](u)$", "$!\u2060[pic](u)$"),                      # inside math: the word joiner
])
def test_rich_keeps_math_shows_all_else_literally_and_no_image(text, out):
    assert rich(text) == out
