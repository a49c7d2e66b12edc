"""The view registry: every view of the dashboard, who may open it, where each role lands,
which API resources it shows and which actions can be taken on it, and by whom.

This is the one list. The page guard, the callback guard, the API guard, the navigation, the
preferences and admin pickers, the bench and the access tests read only this module. A view is
built when it names its layout and callbacks modules (``layouts.<slug>``,
``callbacks.<slug>``); a planned view without them answers 404 and no navigation or picker
offers it. Adding a view: ``layouts/<slug>.py``, ``callbacks/<slug>.py``,
``services/<slug>.py``, ``db/queries/<slug>.py``, one entry below, its tests.

Modules are named, not imported: ``services`` never imports Dash code (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("admin", "executive", "marketing_manager", "campaign_specialist", "analyst")

# Roles that may change what campaigns do (pause, acknowledge alerts); analysts only read.
OPERATORS = frozenset({"admin", "marketing_manager", "campaign_specialist"})
# Roles that may change a company's alert configuration.
EDITORS = frozenset({"admin", "marketing_manager"})


@dataclass(frozen=True)
class View:
    slug: str
    title: str
    roles: frozenset[str]
    # Roles whose own first view this is (tried before the navigation order).
    landing_for: frozenset[str] = frozenset()
    built: bool = False
    # API resources under /api/v1/<resource>, guarded like this view.
    api: tuple[str, ...] = ()
    # Actions taken on this view -> the roles that may take them (each also needs the view).
    actions: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/{self.slug}"

    @property
    def layout_module(self) -> str:
        return f"layouts.{self.slug}"

    @property
    def callbacks_module(self) -> str:
        return f"callbacks.{self.slug}"


# In navigation order.
VIEWS: tuple[View, ...] = (
    View("executive", "Executive",
         roles=frozenset({"admin", "executive", "marketing_manager", "analyst"}),
         landing_for=frozenset({"executive", "analyst"}), built=True,
         api=("kpis", "timeseries", "insights", "forecast", "benchmarks",
              "company-events"),
         # Company events (launches, outages, sales) and holiday country (issue #20).
         actions={"annotate_events": frozenset({"admin", "marketing_manager", "analyst"}),
                  # a company setting: the same roles as its alert configuration
                  "set_holiday_country": EDITORS}),
    View("marketing", "Marketing",
         roles=frozenset({"admin", "marketing_manager", "campaign_specialist", "analyst"}),
         landing_for=frozenset({"marketing_manager"}), built=True,
         api=("traffic", "leads", "content", "email-funnel", "retailers")),
    View("attribution", "Attribution",
         roles=frozenset({"admin", "marketing_manager", "campaign_specialist", "analyst"}),
         built=True, api=("attribution",)),
    View("campaigns", "Campaigns",
         roles=frozenset({"admin", "marketing_manager", "campaign_specialist", "analyst"}),
         built=True,
         api=("campaigns", "segments", "channels", "performance-matrix", "top-bottom",
              "campaign-duration", "campaign-clusters")),
    View("realtime", "Real-time",
         roles=frozenset({"admin", "marketing_manager", "campaign_specialist", "analyst"}),
         landing_for=frozenset({"campaign_specialist"}), built=True,
         api=("realtime", "alerts"),
         actions={"pause_campaign": OPERATORS, "acknowledge_alert": OPERATORS,
                  "edit_alert_rules": EDITORS, "edit_alert_settings": EDITORS}),
    View("competitive", "Competitive",
         roles=frozenset({"admin", "executive", "marketing_manager", "analyst"}), built=True,
         api=("competitors", "competitive"),
         actions={"manage_competitors": EDITORS}),
    View("reports", "Reports",
         roles=frozenset({"admin", "executive", "marketing_manager", "analyst"}), built=True,
         api=("reports",),
         actions={"edit_report_schedules": EDITORS,
                  "allow_report_recipients": frozenset({"admin"})}),
    View("imports", "Imports", roles=EDITORS, built=True, api=("imports",),
         actions={"import_data": EDITORS}),
    View("admin", "Admin", roles=frozenset({"admin"}), landing_for=frozenset({"admin"}),
         built=True, api=("users", "audit", "system-health", "data-quality"),
         actions={"manage_users": frozenset({"admin"}),
                  "manage_preferences": frozenset({"admin"}),
                  "read_audit": frozenset({"admin"}),
                  "read_system_health": frozenset({"admin"})}),
)

BY_SLUG: dict[str, View] = {view.slug: view for view in VIEWS}
API_RESOURCES: dict[str, View] = {resource: view for view in VIEWS for resource in view.api}
ACTIONS: dict[str, View] = {action: view for view in VIEWS for action in view.actions}


def built_views() -> tuple[View, ...]:
    return tuple(view for view in VIEWS if view.built)


def view(slug: str | None) -> View | None:
    """The built view of that slug, or None (unknown or not built yet)."""
    found = BY_SLUG.get(slug or "")
    return found if found is not None and found.built else None


def can_open(role: str | None, slug: str) -> bool:
    found = view(slug)
    return found is not None and role in found.roles


def can_take(role: str | None, action: str) -> bool:
    """May ``role`` take ``action``? It needs the action's roles and its view."""
    owner = ACTIONS.get(action)
    if owner is None:
        raise KeyError(f"unknown action {action!r}")
    return role in owner.actions[action] and can_open(role, owner.slug)


def views_for(role: str | None) -> list[View]:
    """The built views this role may open, in navigation order."""
    return [v for v in built_views() if role in v.roles]


def landing_choices(role: str | None) -> list[tuple[str, str]]:
    """(slug, title) of the views a landing picker offers this role: built ones it may open."""
    return [(v.slug, v.title) for v in views_for(role)]


def landing(role: str | None) -> str | None:
    """The role's own first view if it is built, else the first built view it may open."""
    allowed = views_for(role)
    own = [v for v in allowed if role in v.landing_for]
    first = (own or allowed or [None])[0]
    return first.slug if first else None


def view_for_path(path: str) -> View | None:
    """The built view a page path names (``/executive``), or None."""
    if not path.startswith("/"):
        return None
    return view(path.strip("/").split("/")[0])


def view_of_component(component_id: str) -> str | None:
    """The view slug a component id belongs to, by its prefix (DESIGN.md: ids start with the
    view's slug); None when the prefix names no view."""
    prefix = component_id.split("-", 1)[0]
    return prefix if prefix in BY_SLUG else None


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    return role
