"""The built views' layout and callbacks modules, loaded from the view registry
(``services.registry``): the registry names them, this imports them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from services import registry


@dataclass(frozen=True)
class LoadedView:
    spec: registry.View
    layout: ModuleType
    callbacks: ModuleType


BUILT: dict[str, LoadedView] = {
    spec.slug: LoadedView(spec, importlib.import_module(spec.layout_module),
                          importlib.import_module(spec.callbacks_module))
    for spec in registry.built_views()
}
