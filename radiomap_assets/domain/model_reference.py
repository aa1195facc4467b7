"""The contract for a trained model version between assets: where it is registered in MLflow and what it was
trained on. Assets pass this reference, never the torch module (the model is loaded back from the registry)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelReference:
    registered_model_name: str
    model_version: str
    model_uri: str  # models:/<name>/<version>
    mlflow_run_id: str
    tracking_uri: str
    campaigns: list[str]  # campaign partitions it was trained on
    coarse_asset: str  # the asset its coarse locations came from (coarse_locations in production)
    data_versions: dict = field(default_factory=dict)  # campaign -> {asset: content version}
    rnn_cell: str = "gru"
    parameter_count: int = 0
    steps: int = 0
    train_wall_time_s: float = 0.0
    train_samples_per_s: float = 0.0
    final_losses: dict = field(default_factory=dict)  # the last training step's loss terms

    def trained_on(self, campaign_id: str, coarse_asset: str, versions: dict) -> bool:
        """Whether this version was trained on exactly campaign ``campaign_id`` with the coarse input of
        ``coarse_asset``, at the data versions in ``versions`` (campaign -> {asset: version}) where it recorded
        them."""
        if self.campaigns != [campaign_id] or self.coarse_asset != coarse_asset:
            return False
        recorded = self.data_versions.get(campaign_id)
        return recorded is None or recorded == versions[campaign_id]
