"""Callback discovery and request building.

Callbacks come from the Dash app's ``callback_map`` (built by the real factory, so every view
in ``dashapp.views.BUILT`` at run time is covered), joined with ``/_dash-dependencies`` for
``prevent_initial_call``. Input values come from what the served app itself returns: the
router callback's layout for the logged-in user, then the responses of the view's initial
callbacks, exactly the state a browser would hold. Filter variations draw other values from
the same components (dropdown and radio options, date windows, clicks and interval ticks).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")
SHELL = "app"


def _id_key(component_id) -> str:
    return component_id if isinstance(component_id, str) else json.dumps(component_id,
                                                                          sort_keys=True)


def _plain_id(component_id):
    """An id from callback_map: strings stay, pattern ids become dicts of plain values."""
    if isinstance(component_id, str):
        try:
            parsed = json.loads(component_id)
        except ValueError:
            return component_id
        return parsed if isinstance(parsed, dict) else component_id
    if isinstance(component_id, dict):
        out = {}
        for key, value in component_id.items():
            text = getattr(value, "wildcard", None) or (value if not hasattr(value, "to_json")
                                                         else value.to_json())
            if isinstance(text, str) and text.strip('["]') in WILDCARDS:
                text = text.strip('["]')
            out[key] = text
        return out
    return component_id


@dataclass
class CallbackSpec:
    key: str  # callback_map key, the "output" field of the request
    name: str
    view: str
    outputs: list[dict]  # {"id", "property"}
    inputs: list[dict]
    state: list[dict]
    multi: bool
    prevent_initial_call: bool = False

    def output_keys(self) -> set[str]:
        return {f"{_id_key(o['id'])}.{o['property']}" for o in self.outputs}


def view_of(component_id) -> str:
    text = component_id if isinstance(component_id, str) else str(component_id.get("type", ""))
    return text.split("-", 1)[0]


def discover(dash_app, dependencies: list[dict] | None = None) -> list[CallbackSpec]:
    """Every server-side callback of the app, with the view its outputs belong to."""
    prevent = {d.get("output"): bool(d.get("prevent_initial_call"))
               for d in dependencies or []}
    specs = []
    for key, spec in dash_app.callback_map.items():
        raw = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        outputs = [{"id": _plain_id(o.component_id), "property": o.component_property}
                   for o in raw]
        fn = spec.get("callback")
        if fn is None:  # a clientside callback: it never reaches the server
            continue
        name = getattr(fn, "__name__", None) or key
        first = outputs[0]
        specs.append(CallbackSpec(
            key=key, name=f"{name} ({_id_key(first['id'])}.{first['property']})",
            view=view_of(first["id"]),
            outputs=outputs,
            inputs=[{"id": _plain_id(d["id"]), "property": d["property"]} for d in spec["inputs"]],
            state=[{"id": _plain_id(d["id"]), "property": d["property"]} for d in spec["state"]],
            multi=isinstance(spec["output"], list),
            prevent_initial_call=prevent.get(key, False),
        ))
    return specs


# --------------------------------------------------------------------------- component state


@dataclass
class Component:
    id: object
    type: str
    props: dict


@dataclass
class PageState:
    """The components the browser holds for a page: id -> props."""

    components: dict[str, Component] = field(default_factory=dict)
    # id -> the tab_id of the dbc.Tab it is drawn in (a view computing only its open tab).
    tab_of: dict[str, str] = field(default_factory=dict)

    def add_tree(self, node, tab: str | None = None) -> None:
        if isinstance(node, list):
            for child in node:
                self.add_tree(child, tab)
            return
        if not isinstance(node, dict) or "props" not in node:
            return
        props = node.get("props") or {}
        if node.get("type") == "Tab" and props.get("tab_id"):
            tab = props["tab_id"]
        if "id" in props:
            key = _id_key(props["id"])
            if props.get("rowModelType") == "infinite" and not props.get("getRowsRequest"):
                props = {**props, "getRowsRequest": first_rows_request(props)}
            existing = self.components.get(key)
            if existing:
                existing.props.update(props)
            else:
                self.components[key] = Component(props["id"], node.get("type", ""), dict(props))
            if tab is not None:
                self.tab_of[key] = tab
        for value in props.values():
            if isinstance(value, (dict, list)):
                self.add_tree(value, tab)

    def apply_response(self, response: dict) -> None:
        for component_id, props in (response or {}).items():
            key = component_id
            comp = self.components.get(key)
            if comp is None:
                self.components[key] = comp = Component(component_id, "", {})
            for prop, value in props.items():
                comp.props[prop] = value
                self.add_tree(value)

    def value(self, component_id, prop):
        comp = self.components.get(_id_key(component_id))
        return None if comp is None else comp.props.get(prop)

    def matching(self, pattern: dict) -> list[Component]:
        found = []
        for comp in self.components.values():
            cid = comp.id
            if not isinstance(cid, dict) or set(cid) != set(pattern):
                continue
            if all(v in WILDCARDS or cid[k] == v for k, v in pattern.items()):
                found.append(comp)
        return found


def first_rows_request(props: dict, start: int = 0, sort: list | None = None) -> dict:
    """The block request a mounted ag-grid of the infinite row model sends at once (it has
    no rows until the server answers one): without it, the page-loading callback answers
    204 and its timing measures nothing."""
    size = int((props.get("dashGridOptions") or {}).get("cacheBlockSize") or 100)
    return {"startRow": start, "endRow": start + size, "sortModel": sort or [],
            "filterModel": {}}


def _is_pattern(component_id) -> bool:
    return isinstance(component_id, dict) and any(v in WILDCARDS for v in component_id.values())


def build_payload(spec: CallbackSpec, state: PageState, values: dict | None = None,
                  changed: list[str] | None = None) -> dict | None:
    """The request body the renderer would post; None when a pattern matches nothing."""
    values = values or {}

    def dep_item(dep):
        cid = dep["id"]
        if _is_pattern(cid):
            matches = state.matching(cid)
            items = [{"id": c.id, "property": dep["property"],
                      "value": c.props.get(dep["property"])} for c in matches]
            return items if "ALL" in cid.values() or "ALLSMALLER" in cid.values() else \
                (items[0] if items else None)
        name = f"{_id_key(cid)}.{dep['property']}"
        value = values[name] if name in values else state.value(cid, dep["property"])
        return {"id": cid, "property": dep["property"], "value": value}

    def out_item(out):
        cid = out["id"]
        if _is_pattern(cid):
            matches = [{"id": c.id, "property": out["property"]} for c in state.matching(cid)]
            return matches if "ALL" in cid.values() else (matches[0] if matches else None)
        return {"id": cid, "property": out["property"]}

    inputs = [dep_item(d) for d in spec.inputs]
    states = [dep_item(d) for d in spec.state]
    outputs = [out_item(o) for o in spec.outputs]
    if any(item is None for item in [*inputs, *states, *outputs]):
        return None
    return {
        "output": spec.key,
        "outputs": outputs if spec.multi else outputs[0],
        "inputs": inputs,
        "state": states,
        "changedPropIds": changed or [],
    }


# --------------------------------------------------------------------------- variations


def _option_values(options) -> list:
    values = []
    for option in options or []:
        if isinstance(option, dict):
            if not option.get("disabled"):
                values.append(option.get("value"))
        else:
            values.append(option)
    return values


def candidates(comp: Component, prop: str, last_day: dt.date) -> list:
    """Other realistic values of one input property."""
    current = comp.props.get(prop)
    if prop == "value" and "options" in comp.props:
        options = _option_values(comp.props.get("options"))
        if isinstance(current, list):  # multi-select: subsets
            return [options[:n] for n in range(1, min(len(options), 4) + 1)] or [current]
        return options or [current]
    if prop in ("start_date", "end_date"):
        days = (7, 14, 30, 60, 90)
        if prop == "end_date":
            return [last_day.isoformat(), (last_day - dt.timedelta(days=7)).isoformat()]
        return [(last_day - dt.timedelta(days=d - 1)).isoformat() for d in days]
    if prop == "n_intervals" or (prop == "n_clicks" and "refresh" in _id_key(comp.id)):
        # Interval ticks and refresh buttons; other buttons (save, create, pause) are left
        # alone: a filter variation does not press them.
        return [(current or 0) + step for step in (1, 2, 3)]
    if prop == "getRowsRequest" and isinstance(current, dict):
        # a later block, and the first block sorted on another column (the grid's sort)
        columns = [c.get("field") for c in comp.props.get("columnDefs") or []
                   if isinstance(c, dict) and c.get("field")]
        size = current["endRow"] - current["startRow"]
        return [first_rows_request(comp.props, 5 * size)] + [
            first_rows_request(comp.props, 0, [{"colId": c, "sort": "asc"}])
            for c in columns[-3:]]
    if prop == "active_tab" and "children" in comp.props:
        return [current]
    return [current]


def variations(spec: CallbackSpec, state: PageState, last_day: dt.date, count: int,
               rng: random.Random) -> list[tuple[dict, list[str]]]:
    """``count`` (values, changedPropIds): the initial state first, then one or two inputs
    changed at a time, as a user changing filters would. A callback that reads the open tab
    is measured with its own tab open (where its outputs are drawn): closed, it answers
    nothing, and timing that would flatter it."""
    own_tab = state.tab_of.get(_id_key(spec.outputs[0]["id"]))
    pinned = {f"{_id_key(dep['id'])}.active_tab": own_tab for dep in spec.inputs
              if dep["property"] == "active_tab" and own_tab is not None}
    variable = []
    for dep in spec.inputs:
        if _is_pattern(dep["id"]) or f"{_id_key(dep['id'])}.{dep['property']}" in pinned:
            continue
        comp = state.components.get(_id_key(dep["id"]))
        if comp is None:
            continue
        options = [v for v in candidates(comp, dep["property"], last_day)
                   if v != comp.props.get(dep["property"])]
        if options:
            variable.append((f"{_id_key(dep['id'])}.{dep['property']}", options))
    out: list[tuple[dict, list[str]]] = [(dict(pinned), list(pinned))]
    while len(out) < count:
        if not variable:
            out.append((dict(pinned), list(pinned)))
            continue
        picks = rng.sample(variable, k=min(len(variable), rng.choice((1, 1, 2))))
        values = {name: rng.choice(options) for name, options in picks}
        out.append(({**pinned, **values}, list(values) or list(pinned)))
    return out


def initial_levels(specs: list[CallbackSpec]) -> list[list[CallbackSpec]]:
    """The callbacks a page load fires, in dependency levels: a callback whose input is the
    output of another initial callback runs after it."""
    pending = [s for s in specs if not s.prevent_initial_call]
    produced_by = {}
    for spec in pending:
        for key in spec.output_keys():
            produced_by[key] = spec
    levels: list[list[CallbackSpec]] = []
    done: set[str] = set()
    while pending:
        level = []
        for spec in pending:
            needs = {produced_by[k].key for k in
                     (f"{_id_key(d['id'])}.{d['property']}" for d in spec.inputs)
                     if k in produced_by and produced_by[k] is not spec}
            if needs <= done:
                level.append(spec)
        if not level:  # a cycle: fire the rest together, as the renderer would give up
            level = list(pending)
        levels.append(level)
        done |= {s.key for s in level}
        pending = [s for s in pending if s.key not in done]
    return levels
