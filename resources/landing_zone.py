"""The landing zone where measurement campaigns arrive (design 3.1), as a Dagster resource.

``<root>/landing/<id>/`` is where writers put campaigns (manifest last). Accepting a campaign validates it and
moves it to ``<root>/campaigns/<id>/``, which is never overwritten; a malformed one moves to
``<root>/quarantine/<id>__<time>/`` with its reason. Nothing is ever deleted.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dagster import ConfigurableResource

from radiomap_assets.domain import campaign as contract
from radiomap_assets.profiles import home_layout


@dataclass
class LandingScan:
    """What one look at the landing zone found."""

    complete: list[str] = field(default_factory=list)  # new complete campaigns, to ingest
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (campaign, reason) quarantined now
    waiting: list[str] = field(default_factory=list)  # manifest not there yet, or requested and not yet accepted


class LandingZone(ConfigurableResource):
    """Folders of the landing zone; ``incomplete_timeout_s``: how long a campaign may wait for its manifest."""

    root: str = ""
    incomplete_timeout_s: float = 24 * 3600.0

    def _root(self) -> Path:
        return Path(self.root) if self.root else home_layout().root

    @property
    def landing_path(self) -> Path:
        return self._root() / "landing"

    @property
    def accepted_path(self) -> Path:
        return self._root() / "campaigns"

    @property
    def quarantine_path(self) -> Path:
        return self._root() / "quarantine"

    def ensure(self) -> None:
        for p in (self.landing_path, self.accepted_path, self.quarantine_path):
            p.mkdir(parents=True, exist_ok=True)

    def quarantine(self, folder: Path, error: contract.CampaignValidationError | dict) -> Path:
        reason = error.to_dict() if isinstance(error, contract.CampaignValidationError) else error
        return contract.quarantine(folder, self.quarantine_path, reason)

    def scan(self, already_seen: set[str], now: float | None = None) -> LandingScan:
        """Complete new campaigns in the landing zone; duplicates of seen ones and campaigns whose manifest has not
        arrived within ``incomplete_timeout_s`` are quarantined here (they never become partitions)."""
        self.ensure()
        now = time.time() if now is None else now
        out = LandingScan()
        for folder in sorted(p for p in self.landing_path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            cid = folder.name
            if not (folder / contract.MANIFEST).exists():
                newest = max([folder.stat().st_mtime] + [f.stat().st_mtime for f in folder.iterdir()])
                if now - newest > self.incomplete_timeout_s:
                    err = contract.CampaignValidationError(
                        cid, contract.MANIFEST, "manifest arrives",
                        f"no manifest.json {now - newest:.0f} s after the last write (timeout "
                        f"{self.incomplete_timeout_s:.0f} s)")
                    self.quarantine(folder, err)
                    out.quarantined.append((cid, str(err)))
                else:
                    out.waiting.append(cid)
                continue
            if (self.accepted_path / cid).exists():
                err = contract.CampaignValidationError(
                    cid, contract.MANIFEST, "campaign id is unique",
                    f"a campaign with id {cid!r} was already accepted ({self.accepted_path / cid}); "
                    f"the new copy is kept in quarantine, the accepted one is untouched")
                self.quarantine(folder, err)
                out.quarantined.append((cid, str(err)))
                continue
            if cid in already_seen:  # requested earlier, its ingestion has not accepted it yet
                out.waiting.append(cid)
                continue
            out.complete.append(cid)
        return out

    def accept(self, campaign_id: str) -> contract.Campaign:
        """Validate a landed campaign and move it to the accepted folder; quarantine it if it breaks a rule
        (then re-raise). A campaign accepted earlier is read back from the accepted folder."""
        self.ensure()
        accepted = self.accepted_path / campaign_id
        if accepted.exists():
            return contract.load_campaign(accepted)
        landed = self.landing_path / campaign_id
        if not landed.exists():
            raise FileNotFoundError(f"campaign {campaign_id!r} is neither in {self.landing_path} nor accepted")
        try:
            contract.load_campaign(landed)
        except contract.CampaignValidationError as e:
            self.quarantine(landed, e)
            raise
        shutil.move(str(landed), str(accepted))
        return contract.load_campaign(accepted)
