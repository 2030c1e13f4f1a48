"""axe-core (from axe-playwright-python) with the WCAG 2.2 AA tags, and a readable report."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
_AXE = Axe()


def violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now."""
    return _AXE.run(page, options=OPTIONS).response["violations"]


def describe(found: list[dict]) -> str:
    """One block per violation: rule, impact, help, and each offending element."""
    lines = []
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


def horizontal_overflow(page) -> int:
    """How many CSS px the page scrolls sideways (0 when it reflows)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


class Audit:
    """Collects every page and email checked, and every problem, for one report at the end."""

    def __init__(self):
        self.checked: list[str] = []
        self.problems: list[str] = []

    def check(self, page, label: str, *, reflow: bool = True) -> None:
        """axe at desktop width, then the reflow check at 320 CSS px (400% zoom of 1280)."""
        self.checked.append(label)
        page.wait_for_load_state("load")  # styles applied: contrast and sizes depend on them
        found = violations(page)
        if found:
            self.problems.append(f"{label} ({page.url}):\n{describe(found)}")
        if reflow:
            size = page.viewport_size
            page.set_viewport_size({"width": 320, "height": 640})
            overflow = horizontal_overflow(page)
            if overflow > 0:
                self.problems.append(f"{label}: scrolls sideways by {overflow}px at 320px wide")
            page.set_viewport_size(size)

    def assert_clean(self) -> None:
        assert not self.problems, (
            f"{len(self.problems)} accessibility problem(s):\n\n" + "\n\n".join(self.problems)
        )
