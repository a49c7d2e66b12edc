"""The bench measures the campaign explorer's real first page (issue #14): the grid of the
infinite row model has no rows until the server answers its first block request, so the
bench's page state holds that request, as a browser's mounted grid sends it."""

from __future__ import annotations

import datetime as dt
import json
import random

import plotly

from dashapp.bench.payloads import CallbackSpec, PageState, build_payload, variations
from layouts import campaigns as layout
from services import campaigns


def _state() -> PageState:
    state = PageState()
    tree = json.loads(json.dumps(layout.grid("k"), cls=plotly.utils.PlotlyJSONEncoder))
    state.add_tree(tree)
    return state


SPEC = CallbackSpec(key=f"{layout.GRID}.getRowsResponse", name="get_rows", view="campaigns",
                    outputs=[{"id": layout.GRID, "property": "getRowsResponse"}],
                    inputs=[{"id": layout.GRID, "property": "getRowsRequest"}], state=[],
                    multi=False)


def test_the_first_payload_asks_for_the_first_block():
    payload = build_payload(SPEC, _state())
    request = payload["inputs"][0]["value"]
    assert request == {"startRow": 0, "endRow": layout.PAGE_ROWS, "sortModel": [],
                       "filterModel": {}}


def test_variations_ask_for_later_blocks_and_sorts_the_service_accepts():
    runs = variations(SPEC, _state(), dt.date(2026, 1, 1), 8, random.Random(3))
    requests = [values.get(f"{layout.GRID}.getRowsRequest") for values, _ in runs[1:]]
    requests = [r for r in requests if r]
    assert requests, "the block request varies"
    assert any(r["startRow"] > 0 for r in requests) or any(r["sortModel"] for r in requests)
    for request in requests:
        assert request["endRow"] - request["startRow"] == layout.PAGE_ROWS
        for sort in request["sortModel"]:
            assert sort["colId"] in campaigns.COLUMNS  # never a 400 the bench would time
