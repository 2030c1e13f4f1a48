"""Drive pages with the keyboard only: Tab to a control, type, Space, arrows, Enter."""

from __future__ import annotations

MAX_TABS = 80

_FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return outline || s.boxShadow !== 'none' || s.backgroundColor === 'rgb(255, 221, 0)';
}"""


def is_focused(page, selector: str) -> bool:
    """Whether the focused element matches a CSS selector."""
    return page.evaluate(
        "sel => !!document.activeElement && document.activeElement.matches(sel)", selector
    )


def describe_focus(page) -> str:
    return page.evaluate(
        "() => document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : 'nothing'"
    )


def tab_to(page, selector: str, *, backwards: bool = False) -> int:
    """Press Tab until the selector has focus; checks the focus is visible. Returns presses."""
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press(key)
        if is_focused(page, selector):
            assert page.evaluate(_FOCUS_VISIBLE), f"no visible focus on {describe_focus(page)}"
            return presses
    raise AssertionError(
        f"{selector} never took focus after {MAX_TABS} Tabs; focus is on {describe_focus(page)}"
    )


def type_into(page, selector: str, text: str) -> None:
    """Tab to a text field, clear it with the keyboard, type."""
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    if text:
        page.keyboard.type(text)


def tick(page, selector: str, wanted: bool = True) -> None:
    """Tab to a checkbox and press Space if its state is not the wanted one."""
    tab_to(page, selector)
    if page.evaluate("() => document.activeElement.checked") != wanted:
        page.keyboard.press("Space")
    assert page.evaluate("() => document.activeElement.checked") == wanted


def choose(page, name: str, value: str) -> None:
    """Tab into a radio group, then arrow to the wanted option (arrows select as they move)."""
    tab_to(page, f'input[type=radio][name="{name}"]')
    for _ in range(12):
        if page.evaluate("() => document.activeElement.value") == value:
            page.keyboard.press("Space")
            break
        page.keyboard.press("ArrowDown")
    assert (
        page.evaluate(f"() => document.querySelector('input[name=\"{name}\"]:checked').value")
        == value
    )


def press_button(page, selector: str) -> None:
    """Tab to a button or link and press Enter, waiting for the page that follows."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")
