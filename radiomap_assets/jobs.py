"""Jobs: simulation, per-campaign ingestion, the per-campaign paper-protocol coarse input (evaluation), training,
per-campaign trajectory recovery, beam-map generation, and the evaluation of paper section IV (baselines,
experiments, report): its headline (evaluate_headline, `make demo`) and all of it (evaluate, `make paper`)."""

from dagster import AssetSelection, define_asset_job

from radiomap_assets.assets.shared import campaign_partitions, csi_campaign_partitions, site_partitions
from radiomap_assets.automation import CAMPAIGN_LANE, HEAVY_LANE, LANE_TAG
from radiomap_assets.experiments import HEADLINE_EXPERIMENTS, HEADLINE_METHODS

simulation_job = define_asset_job("simulate_site", selection=AssetSelection.groups("simulation"),
                                  partitions_def=site_partitions, tags={LANE_TAG: HEAVY_LANE},
                                  description="Ray trace one site's ground-truth beam map and land its simulated "
                                              "campaigns (partition = site).")
ingestion_job = define_asset_job("ingest_campaign", selection=AssetSelection.groups("ingestion")
                                 | AssetSelection.assets("coarse_location_accuracy"),
                                 partitions_def=campaign_partitions,
                                 # a run whose worker died is retried by Dagster (the daemon, dagster.yaml
                                 # run_retries); a campaign that broke a rule is quarantined, never retried
                                 tags={LANE_TAG: CAMPAIGN_LANE, "dagster/max_retries": "2",
                                       "dagster/retry_strategy": "FROM_FAILURE",
                                       "dagster/retry_on_asset_or_op_failure": "false"},
                                 description="Validate one campaign, build its masked sparse CSI and coarse locations "
                                             "(and score them where the campaign has ground truth).")
paper_protocol_job = define_asset_job(
    "paper_protocol", partitions_def=campaign_partitions, tags={LANE_TAG: CAMPAIGN_LANE},
    selection=AssetSelection.assets("paper_protocol_coarse_locations", "paper_protocol_coarse_accuracy",
                                    "centroid_coarse_locations"),
    description="The evaluation's coarse inputs of one simulated campaign: the paper's protocol (ground truth + "
                "N(0, 400 m^2)) and its error, the input of the paper's experiments, and the paper's label-free "
                "weighted centroid (experiment table1_centroid); never inputs of production assets.")
training_job = define_asset_job(
    "train_model", selection=AssetSelection.assets("site_grid", "beam_map_model"), partitions_def=site_partitions,
    tags={LANE_TAG: HEAVY_LANE},
    description="Train one site's generative model on its ingested campaigns; register it in MLflow.")
inference_job = define_asset_job(
    "recover_trajectories", partitions_def=campaign_partitions, tags={LANE_TAG: CAMPAIGN_LANE},
    selection=AssetSelection.assets("recovered_trajectories", "recovered_trajectory_accuracy"),
    description="Recover one campaign's trajectories with the latest model and score them.")
beam_map_job = define_asset_job("generate_beam_map", selection=AssetSelection.assets("beam_maps"),
                                partitions_def=site_partitions, tags={LANE_TAG: HEAVY_LANE},
                                description="Decode one site's radio-map codebook into a Zarr beam map.")
# the evaluation group's method assets and report: both evaluation jobs run all of them; the headline one selects
# (config of experiment_campaigns) which experiments and methods compute, the others return {} and the report
# marks them as not run
EVALUATION_ASSETS = AssetSelection.assets("experiment_campaigns", "coarse_floors", "skf_baseline",
                                          "semi_cc_gt_baseline", "semi_cc_noisy_baseline", "real_world_cc_baseline",
                                          "cam_baseline", "lstm_baseline", "proposed_method", "proposed_variants",
                                          "geometric_locator_baseline",
                                          "evaluation_report")
evaluation_job = define_asset_job(
    "evaluate", selection=EVALUATION_ASSETS, partitions_def=site_partitions, tags={LANE_TAG: HEAVY_LANE},
    description="Run every method of paper section IV and the coarse-input floors on the experiments' campaigns and "
                "write the report (needs ingested campaigns, a trained beam_map_model and a generated beam map). "
                "`make paper`.")
# the headline's selection; a caller that passes a run config of its own (loggers) merges this in
HEADLINE_RUN_CONFIG = {"ops": {"experiment_campaigns": {"config": {"experiments": list(HEADLINE_EXPERIMENTS),
                                                                   "methods": list(HEADLINE_METHODS)}}}}
headline_evaluation_job = define_asset_job(
    "evaluate_headline", selection=EVALUATION_ASSETS, partitions_def=site_partitions, config=HEADLINE_RUN_CONFIG,
    tags={LANE_TAG: HEAVY_LANE},
    description="The headline of the evaluation (`make demo`): Table I on the paper's protocol and on the production "
                "input, with the floors, the SKF, CAM, the proposed model and its declared variants; the report marks "
                "the other experiments and methods as not run (job evaluate runs them).")
# the family's headline (`make demo`): the profile's first BS array (Fig. 5's) and the methods of issue 13's targets;
# job channel_estimation runs every array (Fig. 6) and every variant of the profile
CHANNEL_ESTIMATION_HEADLINE = {"first_array_only": True, "methods": ["ls", "lmmse", "omp", "proposed", "proposed_lmmse",
                                                            "end_to_end"]}
channel_estimation_headline_job = define_asset_job(
    "channel_estimation_headline", selection=AssetSelection.groups("channel_estimation"),
    partitions_def=site_partitions, tags={LANE_TAG: HEAVY_LANE},
    config={"ops": {name: {"config": CHANNEL_ESTIMATION_HEADLINE}
                    for name in ("csi_static_set", "csi_trajectory", "channel_estimates")}},
    description="The channel-estimation family's headline (`make demo`): the first BS array (Fig. 5) with LS, LMMSE, "
                "OMP, the proposed tracker, its LMMSE variant and the end-to-end LSTM; job channel_estimation runs "
                "every array and variant of the profile.")
measured_csi_job = define_asset_job(
    "land_measured_csi", selection=AssetSelection.groups("measured_csi"),
    partitions_def=csi_campaign_partitions, tags={LANE_TAG: CAMPAIGN_LANE},
    description="A measured complex-CSI campaign (issue 13): checked and accepted (or quarantined with its reasons), "
                "then estimated by the serving channel_estimator beside LS and OMP.")
channel_estimation_job = define_asset_job(
    "channel_estimation", selection=AssetSelection.groups("channel_estimation"), partitions_def=site_partitions,
    tags={LANE_TAG: HEAVY_LANE},
    description="Seed 003 (issue 13) on one site: ray-traced complex CSI (static set, trajectory), the proposed "
                "estimator registered in MLflow, NMSE over time of every method and the report.")
