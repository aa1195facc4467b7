"""The run's Profile as a Dagster resource: assets read every size from here, never from the environment."""

from __future__ import annotations

from dagster import ConfigurableResource

from radiomap_assets.profiles import DEFAULT_SITE, PROFILE_NAMES, Profile, get_profile


class RunProfile(ConfigurableResource):
    """The Profile named ``name`` (``radiomap_assets.profiles``: smoke, default, paper) for the site ``site``
    (``radiomap_assets.sites``): every size of the run, with a section per model family. The code location sets the
    profile from ``RADIOMAP_PROFILE`` once; an asset of a site partition asks for its site with ``at``."""

    name: str = "default"
    site: str = DEFAULT_SITE

    def at(self, site: str) -> "RunProfile":
        """The same profile for ``site`` (an asset of a site partition runs with its partition's site)."""
        return RunProfile(name=self.name, site=site)

    def get(self) -> Profile:
        if self.name not in PROFILE_NAMES:
            raise ValueError(f"profile {self.name!r} is not one of {', '.join(PROFILE_NAMES)}")
        return get_profile(self.name, self.site)
