"""folium tooltips with data text: mapping.TextTooltip puts the text in as a JSON string
set with textContent (folium's Tooltip pastes it into a template literal rendered as HTML)."""
from __future__ import annotations

import pytest

XSS = "<img src=x onerror=window.__xss=1>"
XSS_JS = "`${window.__xss=2}`"


@pytest.mark.parametrize("text", [XSS, XSS_JS, "</script><script>window.__xss=3</script>", "a`b\\\\`c"])
def test_text_tooltip_is_a_json_string(text):
    import json

    import folium

    from web.mapping import TextTooltip

    m = folium.Map(tiles=None)
    folium.CircleMarker((34.0, 111.0), tooltip=TextTooltip(text)).add_to(m)
    script = m.get_root().render()
    literal = script.split("div.textContent = ", 1)[1].split(";\n", 1)[0]
    assert json.loads(literal) == text and "<" not in literal
