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
from radiomap_assets.sites import site_names


@dataclass
class LandingScan:
    """What one look at the landing zone found."""

    complete: list[str] = field(default_factory=list)  # new complete campaigns, to ingest
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (campaign, reason) quarantined now
    waiting: list[str] = field(default_factory=list)  # manifest not there yet, or requested and not yet accepted
    # requested before, then landed again with other contents (a corrected campaign after its quarantine): to ingest
    # again, as a new version
    relanded: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)  # complete campaign -> contents fingerprint
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (entry, error): left alone, retried next scan


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

    # ---- measured complex CSI (issue 13): <root>/landing_csi/<id>.zarr, the domain.csi contract ------------------

    @property
    def csi_landing_path(self) -> Path:
        return home_layout(self._root()).csi_landing

    def csi_accepted(self, campaign_id: str) -> list[Path]:
        """Where a CSI campaign of this id was accepted (``csi/<site>/measured/<id>.zarr``; empty: nowhere)."""
        return sorted(home_layout(self._root()).csi.glob(f"*/measured/{campaign_id}.zarr"))

    def scan_csi(self, known: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """New CSI stores in the landing zone (ids not in ``known``) and what was quarantined now: entries that
        are not ``<valid id>.zarr`` folders, links, duplicates of accepted ones. Write a store elsewhere (or under a
        name starting with '.') and rename it into place: ``domain.csi.write_csi`` does."""
        self.csi_landing_path.mkdir(parents=True, exist_ok=True)
        new, quarantined = [], []
        for entry in sorted(self.csi_landing_path.iterdir()):
            if entry.name.startswith("."):
                continue
            cid = entry.name[:-len(".zarr")] if entry.name.endswith(".zarr") else entry.name
            problem = (None if entry.name.endswith(".zarr") and entry.is_dir() or entry.is_symlink() else
                       "a CSI campaign is a Zarr store folder named <id>.zarr")
            problem = problem or contract.campaign_id_problem(cid) or contract.symlink_problem(entry)
            accepted = [] if problem is not None else self.csi_accepted(cid)
            if accepted:
                problem = f"a CSI campaign with id {cid!r} was already accepted ({accepted[0]})"
            if problem is not None:
                self.quarantine_csi(entry, problem)
                quarantined.append((cid, problem))
            elif cid not in known:
                new.append(cid)
        return new, quarantined

    def quarantine_csi(self, entry: Path, message: str) -> Path:
        """Move a landed CSI entry to ``quarantine/<name>__<time>/`` with its reason; a plain file is moved into a
        folder of that name (links as links, never followed)."""
        reason = {"kind": "complex CSI", "message": message}
        if entry.is_dir() or entry.is_symlink():
            return contract.quarantine(entry, self.quarantine_path, reason)
        holder = entry.with_name(f".{entry.name}.quarantine")
        holder.mkdir()
        shutil.move(str(entry), str(holder / entry.name))
        dest = contract.quarantine(holder, self.quarantine_path, reason)
        return dest.rename(dest.with_name(dest.name.replace(holder.name, entry.name, 1)))

    def accept_csi(self, campaign_id: str, known_sites: tuple[str, ...]) -> Path:
        """Check a landed CSI store (``domain.csi.measured_csi_problems``) and move it to
        ``csi/<site>/measured/<id>.zarr``; quarantine it with its reasons (then raise ValueError) if it breaks a
        rule. A store accepted earlier is returned as it is."""
        from radiomap_assets.domain.csi import measured_csi_problems, open_csi

        problem = contract.campaign_id_problem(campaign_id)
        if problem is not None:  # a partition key added by hand: never a path outside the home
            raise ValueError(f"cannot accept CSI campaign {problem}")
        done = self.csi_accepted(campaign_id)
        if done:
            return done[0]
        landed = self.csi_landing_path / f"{campaign_id}.zarr"
        if not landed.exists():
            raise FileNotFoundError(f"CSI campaign {campaign_id!r} is neither in {self.csi_landing_path} nor accepted")
        site = None
        try:
            problems = [p for p in [contract.symlink_problem(landed)] if p]
            if not problems:
                ds = open_csi(landed)
                problems, site = measured_csi_problems(ds, known_sites), ds.attrs["site"]
        except Exception as e:  # not a readable Zarr store of the contract
            problems = [f"cannot be read as a CSI store of the contract (domain.csi): {type(e).__name__}: {e}"]
        if problems:
            self.quarantine_csi(landed, "; ".join(problems))
            raise ValueError(f"CSI campaign {campaign_id!r} quarantined: {'; '.join(problems)}")
        dest = home_layout(self._root()).csi / site / "measured" / f"{campaign_id}.zarr"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(landed), str(dest))
        return dest

    def quarantine(self, folder: Path, error: contract.CampaignValidationError | dict) -> Path:
        reason = error.to_dict() if isinstance(error, contract.CampaignValidationError) else error
        return contract.quarantine(folder, self.quarantine_path, reason)

    def scan(self, already_seen: set[str] | dict[str, str | None], now: float | None = None) -> LandingScan:
        """Complete new campaigns in the landing zone; duplicates of accepted ones, campaigns whose manifest has not
        arrived within ``incomplete_timeout_s``, folders named against the id rule and folders holding (or being)
        symbolic links are quarantined here (they never become partitions).

        ``already_seen``: campaigns requested before, each with the fingerprint of what was requested (None or a
        plain set: unknown). A seen campaign still in the landing zone waits for its ingestion, unless its contents
        changed since (``relanded``: landed again after a quarantine). One entry that cannot be read (a dangling
        link, a folder removed while scanned) is reported in ``unreadable`` and never stops the others."""
        self.ensure()
        now = time.time() if now is None else now
        seen = already_seen if isinstance(already_seen, dict) else dict.fromkeys(already_seen)
        out = LandingScan()
        for entry in sorted(self.landing_path.iterdir()):
            if entry.name.startswith("."):
                continue
            try:
                self._scan_entry(entry, seen, now, out)
            except OSError as e:  # e.g. removed while scanned: the next scan sees it again
                out.unreadable.append((entry.name, f"{type(e).__name__}: {e}"))
        return out

    def _quarantine_now(self, folder: Path, out: LandingScan, file: str, rule: str, detail: str) -> None:
        err = contract.CampaignValidationError(folder.name, file, rule, detail)
        self.quarantine(folder, err)
        out.quarantined.append((folder.name, str(err)))

    def _scan_entry(self, folder: Path, seen: dict, now: float, out: LandingScan) -> None:
        cid = folder.name
        problem = contract.campaign_id_problem(cid) or contract.symlink_problem(folder)
        if problem is None and not folder.is_dir():
            return  # a stray file beside the campaign folders: not a campaign
        if problem is not None:
            self._quarantine_now(folder, out, ".", "campaign folder is a plain folder with a valid id", problem)
            return
        if not (folder / contract.MANIFEST).exists():
            newest = max([folder.stat().st_mtime] + [f.lstat().st_mtime for f in folder.iterdir()])
            if now - newest > self.incomplete_timeout_s:
                self._quarantine_now(folder, out, contract.MANIFEST, "manifest arrives",
                                     f"no manifest.json {now - newest:.0f} s after the last write (timeout "
                                     f"{self.incomplete_timeout_s:.0f} s)")
            else:
                out.waiting.append(cid)
            return
        if (self.accepted_path / cid).exists():
            self._quarantine_now(folder, out, contract.MANIFEST, "campaign id is unique",
                                 f"a campaign with id {cid!r} was already accepted ({self.accepted_path / cid}); "
                                 f"the new copy is kept in quarantine, the accepted one is untouched")
            return
        fingerprint = contract.folder_fingerprint(folder)
        out.fingerprints[cid] = fingerprint
        if cid not in seen:
            out.complete.append(cid)
        elif seen[cid] is not None and seen[cid] != fingerprint:
            out.relanded.append(cid)
        else:  # requested earlier, its ingestion has not accepted it yet
            out.waiting.append(cid)

    def accept(self, campaign_id: str) -> contract.Campaign:
        """Validate a landed campaign and move it to the accepted folder; quarantine it if it breaks a rule
        (then re-raise). A campaign accepted earlier is read back from the accepted folder."""
        self.ensure()
        problem = contract.campaign_id_problem(campaign_id)
        if problem is not None:  # e.g. a partition key added by hand: never a path outside the home
            raise ValueError(f"cannot accept campaign {problem}")
        accepted = self.accepted_path / campaign_id
        if accepted.exists():
            return contract.load_campaign(accepted)
        landed = self.landing_path / campaign_id
        if not landed.exists() and not landed.is_symlink():
            raise FileNotFoundError(f"campaign {campaign_id!r} is neither in {self.landing_path} nor accepted")
        try:
            problem = contract.symlink_problem(landed)
            if problem is not None:
                raise contract.CampaignValidationError(
                    campaign_id, ".", "campaign folder is a plain folder with a valid id", problem)
            site = contract.load_campaign(landed).manifest["site"]
            if site not in site_names():  # nothing of it may ever be written under a site's name
                raise contract.CampaignValidationError(
                    campaign_id, contract.MANIFEST, "site is a known site",
                    f"unknown site {site!r}; known sites: {', '.join(site_names())} (radiomap_assets/sites)")
        except contract.CampaignValidationError as e:
            self.quarantine(landed, e)
            raise
        shutil.move(str(landed), str(accepted))
        campaign = contract.load_campaign(accepted)
        if contract.set_ground_truth_aside(campaign) is not None:  # a corrupt optional ground truth: kept aside
            campaign = contract.load_campaign(accepted)
        return campaign
