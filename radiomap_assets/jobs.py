"""Jobs: the simulation of the San Francisco (or any) site, and the per-campaign ingestion."""

from dagster import AssetSelection, define_asset_job

from radiomap_assets.assets.ingestion import campaign_partitions

simulation_job = define_asset_job("simulate_site", selection=AssetSelection.groups("simulation"),
                                  description="Ray trace the ground-truth beam map and land simulated campaigns.")
ingestion_job = define_asset_job("ingest_campaign", selection=AssetSelection.groups("ingestion")
                                 | AssetSelection.assets("coarse_location_accuracy"),
                                 partitions_def=campaign_partitions,
                                 description="Validate one campaign, build its masked sparse CSI and coarse locations "
                                             "(and score them where the campaign has ground truth).")
