"""The Kibana saved objects agree with themselves and with the Elasticsearch index templates.

deploy/kibana/wirewatch.ndjson is imported as is by Kibana's saved-objects import API. Kibana
itself does not check that a chart's field exists, and with ``dynamic: strict`` mappings a
misspelt field never appears later either: the panel just stays empty. So this test walks
every object, collects every field it uses (columns, sort, aggregations, KQL queries, filters)
and looks each one up in the mappings of the template behind the data view it uses.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "deploy" / "kibana" / "wirewatch.ndjson"
TEMPLATES = ROOT / "deploy" / "elasticsearch"

INDEX_PATTERN = "index-pattern"
RECORDS = "___records___"  # Lens's document-count pseudo-field, not a mapped field
GRID_COLUMNS = 48
LENS_LAYER_REF = "indexpattern-datasource-layer-"
QUERY_CLAUSES = {"match_phrase", "match", "term", "terms", "range", "prefix", "wildcard", "regexp"}


# -- loading -----------------------------------------------------------------------------------


def load_objects(path: Path = NDJSON) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def flatten_properties(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Dotted field path -> its mapping, objects' inner fields and multi-fields included."""
    flat: dict[str, dict[str, Any]] = {}
    for name, mapping in properties.items():
        path = f"{prefix}{name}"
        if "properties" in mapping:
            flat.update(flatten_properties(mapping["properties"], f"{path}."))
            continue
        flat[path] = mapping
        for sub, sub_mapping in mapping.get("fields", {}).items():
            flat[f"{path}.{sub}"] = sub_mapping
    return flat


def template_fields(title: str) -> dict[str, dict[str, Any]] | None:
    """Mappings of the index template whose alias is the data view's title, or None."""
    path = TEMPLATES / f"{title}.template.json"
    if not path.is_file():
        return None
    body = json.loads(path.read_text(encoding="utf-8"))
    if f"{title}-*" not in body.get("index_patterns", []):
        return None
    return flatten_properties(body["template"]["mappings"]["properties"])


def by_key(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(obj["type"], obj["id"]): obj for obj in objects}


def ref_named(obj: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in obj.get("references", []) if r.get("name") == name), None)


def search_source(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["attributes"].get("kibanaSavedObjectMeta") or {}
    raw = meta.get("searchSourceJSON")
    return json.loads(raw) if raw else {}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(dashboard["attributes"]["panelsJSON"])


def lens_layers(obj: dict[str, Any]) -> dict[str, Any]:
    states = obj["attributes"]["state"]["datasourceStates"]
    layers: dict[str, Any] = {}
    for datasource in ("formBased", "indexpattern"):  # "indexpattern" is the pre-8.6 name
        layers.update((states.get(datasource) or {}).get("layers", {}))
    return layers


# -- references --------------------------------------------------------------------------------


def panel_reference(dashboard: dict[str, Any], panel: dict[str, Any]) -> dict[str, Any] | None:
    """The reference a by-reference panel points at, as Kibana's dashboard loader finds it."""
    name = panel["panelRefName"]
    return ref_named(dashboard, f"{panel.get('panelIndex')}:{name}") or ref_named(dashboard, name)


def reference_problems(objects: list[dict[str, Any]]) -> list[str]:
    known = by_key(objects)
    problems = []
    for obj in objects:
        where = f"{obj['type']}/{obj['id']}"
        for ref in obj.get("references", []):
            if not {"name", "type", "id"} <= ref.keys():
                problems.append(f"{where}: reference {ref} lacks name, type or id")
            elif (ref["type"], ref["id"]) not in known:
                problems.append(
                    f"{where}: reference {ref['name']} -> {ref['type']}/{ref['id']} "
                    "is not in the file"
                )
        needed = []  # reference names the object's own attributes point at
        source = search_source(obj)
        if "indexRefName" in source:
            needed.append(source["indexRefName"])
        filters = list(source.get("filter", []))
        if obj["type"] == "lens":
            needed += [f"{LENS_LAYER_REF}{layer}" for layer in lens_layers(obj)]
            filters += obj["attributes"]["state"].get("filters", [])
        needed += [
            f["meta"]["indexRefName"] for f in filters if "indexRefName" in f.get("meta", {})
        ]
        for name in needed:
            if ref_named(obj, name) is None:
                problems.append(f"{where}: no reference named {name}")
        if obj["type"] == "dashboard":
            for panel in panels(obj):
                if "panelRefName" not in panel:
                    continue
                ref = panel_reference(obj, panel)
                if ref is None:
                    problems.append(
                        f"{where}: panel {panel.get('panelIndex')} has no reference "
                        f"for {panel['panelRefName']}"
                    )
                elif panel.get("type") not in (None, ref["type"]):
                    problems.append(
                        f"{where}: panel {panel.get('panelIndex')} is a "
                        f"{panel['type']} but its reference is a {ref['type']}"
                    )
    return problems


# -- field usage -------------------------------------------------------------------------------


class Usage(NamedTuple):
    where: str  # type/id of the object that uses the field
    view: str  # id of the data view the field is looked up in
    field: str
    role: str  # column | sort | aggregate | date | query


_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')
_KQL_FIELD = re.compile(r"(?<![\w.*@-])([A-Za-z_@][\w.@-]*)\s*(?::|<=|>=|<|>)")


def query_fields(query: dict[str, Any] | str | None) -> list[str]:
    """Field names a KQL or Lucene query names as ``field:``/``field >``."""
    if isinstance(query, dict):
        query = query.get("query")
    if not isinstance(query, str):
        return []
    return _KQL_FIELD.findall(_QUOTED.sub('""', query))


def filter_fields(flt: dict[str, Any]) -> list[str]:
    """Fields a Kibana filter pill uses: its meta.key and every field its ES query clause names."""
    fields = [flt["meta"]["key"]] if flt.get("meta", {}).get("key") else []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "exists" and isinstance(value, dict):
                    fields.append(value["field"])
                elif key in QUERY_CLAUSES and isinstance(value, dict):
                    fields.extend(k for k in value if k != "boost")
                elif key == "query_string" and isinstance(value, dict):
                    fields.extend(query_fields(value))
                else:
                    walk(value)

    walk(flt.get("query", {}))
    return list(dict.fromkeys(fields))


def _filters_usages(obj, where, filters, default_views) -> list[Usage]:
    found = []
    for flt in filters:
        ref = ref_named(obj, flt.get("meta", {}).get("indexRefName", ""))
        views = [ref["id"]] if ref else default_views
        found += [Usage(where, v, f, "query") for f in filter_fields(flt) for v in views]
    return found


def field_usages(obj: dict[str, Any], objects: list[dict[str, Any]]) -> list[Usage]:
    where = f"{obj['type']}/{obj['id']}"
    attrs = obj["attributes"]
    source = search_source(obj)
    found: list[Usage] = []
    if obj["type"] in ("search", "visualization"):
        ref = ref_named(obj, source.get("indexRefName", ""))
        views = [ref["id"]] if ref else ([source["index"]] if "index" in source else [])
        for view in views:
            found += [Usage(where, view, f, "column") for f in attrs.get("columns", [])]
            sort = attrs.get("sort", [])
            sort = [sort] if sort and isinstance(sort[0], str) else sort
            found += [Usage(where, view, field, "sort") for field, _ in sort]
            found += [Usage(where, view, f, "query") for f in query_fields(source.get("query"))]
            if "visState" in attrs:
                for agg in json.loads(attrs["visState"]).get("aggs", []):
                    field = agg.get("params", {}).get("field")
                    if field:
                        role = "date" if agg.get("type") == "date_histogram" else "aggregate"
                        found.append(Usage(where, view, field, role))
        found += _filters_usages(obj, where, source.get("filter", []), views)
    elif obj["type"] == "lens":
        state = attrs["state"]
        views = []
        for layer_id, layer in lens_layers(obj).items():
            ref = ref_named(obj, f"{LENS_LAYER_REF}{layer_id}")
            if ref is None:
                continue
            views.append(ref["id"])
            for column in layer.get("columns", {}).values():
                field = column.get("sourceField")
                if field and field != RECORDS:
                    role = "date" if column["operationType"] == "date_histogram" else "aggregate"
                    found.append(Usage(where, ref["id"], field, role))
                for f in query_fields(column.get("filter")):
                    found.append(Usage(where, ref["id"], f, "query"))
        for view in views:
            found += [Usage(where, view, f, "query") for f in query_fields(state.get("query"))]
        found += _filters_usages(obj, where, state.get("filters", []), views)
    elif obj["type"] == "dashboard":
        # A dashboard's own query and filters apply to every panel, so to every panel's view.
        known = by_key(objects)
        views = set()
        for panel in panels(obj):
            ref = panel_reference(obj, panel) if "panelRefName" in panel else None
            target = known.get((ref["type"], ref["id"])) if ref else None
            if target is not None:
                views |= {u.view for u in field_usages(target, objects)}
        views_list = sorted(views)
        for view in views_list:
            found += [Usage(where, view, f, "query") for f in query_fields(source.get("query"))]
        found += _filters_usages(obj, where, source.get("filter", []), views_list)
    return found


def usage_problem(usage: Usage, fields: dict[str, dict[str, Any]]) -> str | None:
    mapping = fields.get(usage.field)
    if mapping is None:
        return "is not in the index template"
    kind = mapping.get("type")
    if usage.role == "date" and kind != "date":
        return f"is a {kind} field, not a date"
    if usage.role in ("aggregate", "sort") and (
        kind == "text" or mapping.get("doc_values") is False
    ):
        verb = "sorted" if usage.role == "sort" else "aggregated"
        return f"is a {kind} field without doc values: it cannot be {verb} on"
    if usage.role == "query" and mapping.get("index") is False:
        return "is not indexed: it cannot be queried"
    return None


def field_problems(objects: list[dict[str, Any]]) -> list[str]:
    views = {o["id"]: o for o in objects if o["type"] == INDEX_PATTERN}
    problems = []
    for obj in objects:
        for usage in field_usages(obj, objects):
            view = views.get(usage.view)
            fields = template_fields(view["attributes"]["title"]) if view else None
            if fields is None:
                problems.append(f"{usage.where}: data view {usage.view} has no index template")
                continue
            problem = usage_problem(usage, fields)
            if problem:
                problems.append(
                    f"{usage.where}: {usage.role} field {usage.field} {problem} "
                    f"of {view['attributes']['title']}"
                )
    return problems


def time_field_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for view in (o for o in objects if o["type"] == INDEX_PATTERN):
        title = view["attributes"]["title"]
        fields = template_fields(title)
        time_field = view["attributes"].get("timeFieldName")
        if fields is None:
            problems.append(f"data view {view['id']}: no index template for {title}")
        elif time_field and fields.get(time_field, {}).get("type") != "date":
            problems.append(
                f"data view {view['id']}: time field {time_field} is not a date field of {title}"
            )
    return problems


# -- the file as shipped -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return load_objects()


def test_every_line_is_a_saved_object_with_a_unique_id(objects):
    lines = NDJSON.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and all(line.strip() for line in lines[:-1]), "one object per line"
    for obj in objects:
        assert isinstance(obj, dict)
        assert {"id", "type", "attributes", "references"} <= obj.keys(), obj.get("id")
        assert isinstance(obj["attributes"], dict) and obj["attributes"].get("title")
        # Kibana needs both to migrate the object forward on import.
        assert obj.get("coreMigrationVersion") and obj.get("typeMigrationVersion"), obj["id"]
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys))


def test_the_expected_objects_are_there(objects):
    keys = set(by_key(objects))
    assert {
        (INDEX_PATTERN, "wirewatch-articles"),
        (INDEX_PATTERN, "wirewatch-alerts"),
        ("search", "wirewatch-newest-policy-events"),
        ("search", "wirewatch-latest-alerts"),
        ("lens", "wirewatch-events-by-type"),
        ("lens", "wirewatch-events-by-country"),
        ("lens", "wirewatch-events-by-vendor"),
        ("lens", "wirewatch-language-split"),
        ("dashboard", "wirewatch-policy-events"),
    } <= keys
    views = {o["id"]: o["attributes"] for o in objects if o["type"] == INDEX_PATTERN}
    assert views["wirewatch-articles"]["title"] == "wirewatch-articles"
    assert views["wirewatch-alerts"]["title"] == "wirewatch-alerts"
    assert views["wirewatch-alerts"]["timeFieldName"] == "fired_at"


def test_every_reference_resolves_within_the_file(objects):
    assert reference_problems(objects) == []


def test_every_field_used_is_mapped_in_the_template_of_its_data_view(objects):
    assert field_problems(objects) == []


def test_the_field_walk_sees_the_fields_the_panels_use(objects):
    used = {(u.view, u.field, u.role) for o in objects for u in field_usages(o, objects)}
    articles = {(f, r) for v, f, r in used if v == "wirewatch-articles"}
    alerts = {(f, r) for v, f, r in used if v == "wirewatch-alerts"}
    assert {
        ("published", "date"),
        ("event_types", "aggregate"),
        ("entities.countries", "aggregate"),
        ("entities.vendors", "aggregate"),
        ("language", "aggregate"),
        ("event_types", "query"),
        ("is_near_duplicate", "query"),
        ("entities.countries", "column"),
        ("published", "sort"),
    } <= articles
    assert {("rule", "column"), ("fired_at", "sort")} <= alerts


def test_data_view_time_fields_are_dates_in_their_templates(objects):
    assert time_field_problems(objects) == []


def test_dashboard_panels_parse_and_fit_the_grid(objects):
    dashboards = [o for o in objects if o["type"] == "dashboard"]
    assert dashboards
    for dashboard in dashboards:
        json.loads(dashboard["attributes"]["optionsJSON"])
        cells: dict[tuple[int, int], str] = {}
        for panel in panels(dashboard):
            grid = panel["gridData"]
            assert grid["i"] == panel["panelIndex"]
            assert panel_reference(dashboard, panel) is not None, panel["panelRefName"]
            assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= GRID_COLUMNS
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    assert (x, y) not in cells, f"{panel['panelIndex']} overlaps {cells[x, y]}"
                    cells[x, y] = panel["panelIndex"]
        refs = {r["name"] for r in dashboard["references"]}
        panel_refs = {f"{p['panelIndex']}:{p['panelRefName']}" for p in panels(dashboard)}
        assert refs == panel_refs, "every reference belongs to a panel"


# -- the checks can fail -----------------------------------------------------------------------


def _replace(objects, key, change):
    broken = copy.deepcopy(objects)
    change(by_key(broken)[key])
    return broken


def test_a_misspelt_lens_field_is_reported(objects):
    def misspell(obj):
        layer = next(iter(lens_layers(obj).values()))
        layer["columns"]["col-term"]["sourceField"] = "entities.country"

    broken = _replace(objects, ("lens", "wirewatch-events-by-country"), misspell)
    problems = field_problems(broken)
    assert any("entities.country " in p and "not in the index template" in p for p in problems)


def test_a_misspelt_kql_field_and_a_text_sort_are_reported(objects):
    def bad_query(obj):
        obj["attributes"]["state"]["query"]["query"] = 'event_type:* and event_kinds:"ban:x"'

    def sort_on_text(obj):
        obj["attributes"]["sort"] = [["title", "desc"]]

    broken = _replace(objects, ("lens", "wirewatch-events-by-vendor"), bad_query)
    broken = _replace(broken, ("search", "wirewatch-newest-policy-events"), sort_on_text)
    problems = field_problems(broken)
    assert any("query field event_type " in p for p in problems)
    assert not any("field ban" in p for p in problems), "quoted values are not fields"
    assert any("sort field title is a text field" in p for p in problems)


def test_a_missing_panel_reference_is_reported(objects):
    def drop_ref(obj):
        obj["references"] = [r for r in obj["references"] if "language-split" not in r["name"]]

    broken = _replace(objects, ("dashboard", "wirewatch-policy-events"), drop_ref)
    assert any("panel language-split has no reference" in p for p in reference_problems(broken))


def test_a_reference_to_an_absent_object_is_reported(objects):
    def repoint(obj):
        obj["references"][0]["id"] = "wirewatch-article"

    broken = _replace(objects, ("search", "wirewatch-latest-alerts"), repoint)
    assert any("index-pattern/wirewatch-article is not in" in p for p in reference_problems(broken))


def test_a_non_date_time_field_is_reported(objects):
    def text_time(obj):
        obj["attributes"]["timeFieldName"] = "title"

    broken = _replace(objects, (INDEX_PATTERN, "wirewatch-articles"), text_time)
    assert any("time field title is not a date" in p for p in time_field_problems(broken))
